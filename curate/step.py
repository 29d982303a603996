"""The shape every curation step returns: kept rows, removed rows with a reason, and counts.

Steps are plain functions over polars frames. They never drop a row silently: every row that is
not kept appears in ``removed`` with a ``reason`` column, and ``counts`` says how many per reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

REASON = "reason"


@dataclass
class StepResult:
    """Output of one step: ``kept`` + ``removed`` hold every input row exactly once."""

    kept: pl.DataFrame
    removed: pl.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def removed_by_reason(self) -> dict[str, int]:
        """Removed-row counts per reason, sorted by reason for stable stats files."""
        if self.removed.height == 0:
            return {}
        counts = self.removed.group_by(REASON).len().sort(REASON)
        return dict(zip(counts[REASON].to_list(), counts["len"].to_list(), strict=True))


def with_reason(frame: pl.DataFrame, reason: str) -> pl.DataFrame:
    """Tag every row of ``frame`` with the same removal reason."""
    return frame.with_columns(pl.lit(reason, dtype=pl.String).alias(REASON))
