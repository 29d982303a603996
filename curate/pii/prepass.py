"""Vectorised pre-pass: decide, per row, which entity types could possibly be found.

The pre-pass runs one polars (Rust ``regex``) ``str.contains`` per entity type over the whole
column and only rows with at least one hit go to presidio. It is *sound*, i.e. it never skips a
row on which the full engine would report something, for a reason that does not depend on how
presidio's recognizers behave internally:

1. Every entity type that the pre-pass may skip has a **gate** pattern in :data:`GATES`. The
   engine (:func:`curate.pii.engine.analyze_text`) drops every result of such a type whose
   matched span does not itself contain a match of the gate pattern. So a reported span of
   type ``T`` always contains a match of ``GATES[T]``.
2. The gate patterns use no anchors, word boundaries or look-arounds, so a match inside the span
   is also a match inside the whole text: ``GATES[T]`` matches the text.
3. The gate patterns use only explicit ASCII/code-point classes, literal characters and counted
   repetition, for which Python's ``re`` (used by the gate) and Rust's ``regex`` (used here)
   agree character for character (no ``\\d``/``\\w``/``\\s``, whose Unicode tables differ between
   versions, and no case-insensitive matching).

Hence, if the pre-pass finds no gate match for any requested type, the engine can report
nothing for that row. A row is also only analysed for the types whose gate matched; results of
the other types would all be removed by the gate anyway, and the gate is applied before any
cross-type resolution, so the final results are identical (``tests/test_pii_prepass.py`` checks
this on the generated corpus and on adversarial texts).

The gate patterns are chosen as necessary conditions of the recognizers, so enforcing them
costs no recall: every e-mail pattern contains ``@``; IPv4 needs four dotted digit groups;
every IPv6 form contains ``::`` or is written in full (eight groups), except IPv4-embedded forms,
which contain a dotted IPv4; IBANs are two letters, two check digits and at least two groups of
four letters or digits; card numbers have at least 12 digits with at most one space or
dash between digits; SSN patterns have nine digits grouped 3-2-4; phone numbers (after our post-
filters) have at least seven digits with at most five separator characters between consecutive
digits.

Entity types without a gate (names, locations, anything handled by an NER model, or other
presidio entity types requested explicitly) can appear anywhere, so when any of them is
requested the pre-pass is switched off and every row is analysed.
"""

from __future__ import annotations

import re

import polars as pl

# What may stand between two digits of a phone number that our recognizer reports: at most a
# closing parenthesis, a separator (space, no-break space, or . - / with optional spaces
# around it) and an opening parenthesis. The trunk prefix "(0)" contains a digit itself.
PHONE_SEPARATORS = " \u00a0./()\\-"

GATES: dict[str, str] = {
    "EMAIL_ADDRESS": "@",
    # IPv4 (also inside IPv4-mapped/embedded IPv6), any IPv6 with "::", or a full 8-group IPv6
    "IP_ADDRESS": (
        "[0-9][.][0-9]{1,3}[.][0-9]{1,3}[.][0-9]|::|[0-9A-Fa-f](?::[0-9A-Fa-f]{1,4}){7}"
    ),
    # presidio's IBAN pattern, [A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]{4}){2,6}..., applied to the text
    # with ASCII words containing a digit upper-cased (so: ASCII letters of either case)
    "IBAN_CODE": "[A-Za-z]{2}[0-9]{2}(?:[ -]?[A-Za-z0-9]{4}){2}",
    "CREDIT_CARD": "[0-9](?:[ -]?[0-9]){11}",
    "US_SSN": "[0-9]{3}[ .-]?[0-9]{2}[ .-]?[0-9]{4}",
    "PHONE_NUMBER": f"[0-9](?:[{PHONE_SEPARATORS}]{{0,5}}[0-9]){{6}}",
}

_COMPILED_GATES = {entity: re.compile(pattern) for entity, pattern in GATES.items()}


def gate_allows(entity_type: str, span_text: str) -> bool:
    """True if a result of ``entity_type`` covering ``span_text`` may be reported.

    Types without a gate are always allowed (the pre-pass is off when they are requested).
    """
    gate = _COMPILED_GATES.get(entity_type)
    return gate is None or gate.search(span_text) is not None


def prepass_supported(entities: list[str] | tuple[str, ...]) -> bool:
    """The pre-pass may only skip rows when every requested type has a gate."""
    return all(entity in GATES for entity in entities)


def candidate_entities(texts: pl.Series, entities: list[str] | tuple[str, ...]) -> pl.Series:
    """Per row, the requested entity types whose gate matches (an empty list: skip the row).

    Null texts give an empty list. ``entities`` must all have gates (see
    :func:`prepass_supported`).
    """
    missing = [entity for entity in entities if entity not in GATES]
    if missing:
        raise ValueError(f"no pre-pass gate for entity types: {sorted(missing)}")
    frame = pl.DataFrame({"text": texts.cast(pl.String)})
    hits = [
        pl.when(pl.col("text").str.contains(GATES[entity]).fill_null(False))
        .then(pl.lit(entity))
        .otherwise(pl.lit(None, dtype=pl.String))
        for entity in entities
    ]
    if not hits:
        return pl.Series("candidates", [[] for _ in range(texts.len())], dtype=pl.List(pl.String))
    out = frame.select(pl.concat_list(hits).list.drop_nulls().alias("candidates"))
    return out["candidates"]
