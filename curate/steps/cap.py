"""Per-user cap (InstructGPT kept at most 200 prompts per user ID).

Users at or under the cap keep every row; users over it keep exactly ``max_per_user``. Which rows
survive: ``random`` (seeded; a random key per row in input order), ``earliest`` or ``latest`` by
``created_at`` (missing times last, ties by input order). Kept rows stay in input order.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

from curate.step import REASON, StepResult

Keep = Literal["random", "earliest", "latest"]
KEEP_CHOICES: tuple[str, ...] = ("random", "earliest", "latest")
DEFAULT_MAX_PER_USER = 200
_NULL_LAST = 2**63 - 1


def _order_key(frame: pl.DataFrame, keep: Keep, seed: int) -> pl.Expr:
    """Lower key = kept first; ties are broken by input order (ordinal rank)."""
    if keep == "random":
        draws = np.random.default_rng(seed).random(frame.height)
        return pl.lit(pl.Series(draws))
    micros = pl.col("created_at").dt.epoch("us")
    if keep == "latest":
        micros = -micros
    return micros.fill_null(_NULL_LAST)


def cap(
    frame: pl.DataFrame,
    max_per_user: int = DEFAULT_MAX_PER_USER,
    by: str = "user_id",
    keep: Keep = "random",
    seed: int = 0,
) -> StepResult:
    """Keep at most ``max_per_user`` rows per value of ``by``."""
    if max_per_user < 1:
        raise ValueError("max_per_user must be at least 1")
    if keep not in KEEP_CHOICES:
        raise ValueError(f"unknown keep rule {keep!r}; expected one of {', '.join(KEEP_CHOICES)}")
    if by not in frame.columns:
        raise KeyError(by)
    keyed = frame.select(pl.col(by), _order_key(frame, keep, seed).alias("__key"))
    position = pl.col("__key").rank("ordinal").over(by)
    keep_mask = keyed.select((position <= max_per_user).alias("keep")).to_series()
    kept = frame.filter(keep_mask)
    removed = frame.filter(~keep_mask).with_columns(pl.lit("over_cap").alias(REASON))
    users_over = removed[by].n_unique() if removed.height else 0
    return StepResult(
        kept=kept,
        removed=removed,
        extra={"users": frame[by].n_unique(), "users_over_cap": users_over},
    )
