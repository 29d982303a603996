"""Offline PII screening with presidio-analyzer: drop, redact or flag.

``screen_frame`` is the step; ``curate.pii.engine`` builds presidio offline,
``curate.pii.recognizers`` adds what presidio's defaults miss and ``curate.pii.prepass`` is the
vectorised pre-pass that lets rows which cannot contain PII skip presidio.
"""

from curate.pii.engine import BASE_ENTITIES, NER_ENTITIES
from curate.pii.screen import (
    ENTITY_TYPES_COLUMN,
    FLAG_COLUMN,
    NO_NER_NOTE,
    REASON_PII,
    default_entities,
    flag_column_name,
    redact_text,
    screen_frame,
)

__all__ = [
    "BASE_ENTITIES",
    "ENTITY_TYPES_COLUMN",
    "FLAG_COLUMN",
    "NER_ENTITIES",
    "NO_NER_NOTE",
    "REASON_PII",
    "default_entities",
    "flag_column_name",
    "redact_text",
    "screen_frame",
]
