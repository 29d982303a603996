"""Deduplication, split as NeMo Curator does: identify duplicate groups, then remove.

``prefix`` (InstructGPT's heuristic): prompts whose normalised forms share the first
``prefix_chars`` characters are duplicates; a shorter prompt is keyed by its whole normalised
form. ``exact``: the whole normalised form is the key. ``minhash``: near duplicates by MinHash
LSH (see :mod:`curate.steps.near_dedup`). Dedup is global (across users). In a group
the survivor has the earliest ``created_at``; missing timestamps sort after present ones, and ties
fall back to input order. Removed rows carry ``duplicate_of`` = the survivor's id.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from curate.normalize import dedup_keys
from curate.step import REASON, StepResult
from curate.steps.near_dedup import DEFAULT_THRESHOLD, identify_near_duplicates

Method = Literal["prefix", "exact", "minhash"]
METHODS: tuple[str, ...] = ("prefix", "exact", "minhash")
DEFAULT_PREFIX_CHARS = 100


def identify_duplicates(
    frame: pl.DataFrame,
    method: Method = "prefix",
    prefix_chars: int = DEFAULT_PREFIX_CHARS,
    threshold: float = DEFAULT_THRESHOLD,
) -> pl.Series:
    """For every row, the id of its group's survivor (equal to its own id for survivors)."""
    if method not in METHODS:
        raise ValueError(f"unknown dedup method {method!r}; expected one of {', '.join(METHODS)}")
    if method == "prefix" and prefix_chars < 1:
        raise ValueError("prefix_chars must be at least 1")
    if method == "minhash":
        return identify_near_duplicates(frame, threshold=threshold)
    keys = dedup_keys(frame["prompt"], prefix_chars if method == "prefix" else None)
    time = pl.col("created_at").dt.epoch("us").fill_null(2**63 - 1)
    order = pl.int_range(pl.len(), dtype=pl.Int64)
    groups = frame.select(pl.col("id"), keys.alias("key"), time.alias("t"), order.alias("i"))
    # arg_min gives the first row holding the earliest time: ties fall back to input order
    survivor_index = pl.col("i").get(pl.col("t").arg_min()).over("key")
    return groups.select(pl.col("id").gather(survivor_index).alias("duplicate_of")).to_series()


def remove_duplicates(frame: pl.DataFrame, survivors: pl.Series) -> StepResult:
    """Split rows into survivors (kept, input order) and duplicates (with ``duplicate_of``)."""
    is_survivor = survivors == frame["id"]
    kept = frame.filter(is_survivor)
    removed = frame.with_columns(survivors).filter(~is_survivor)
    removed = removed.with_columns(pl.lit("duplicate").alias(REASON))
    return StepResult(
        kept=kept,
        removed=removed,
        extra={"groups_with_duplicates": removed["duplicate_of"].n_unique()},
    )


def dedup(
    frame: pl.DataFrame,
    method: Method = "prefix",
    prefix_chars: int = DEFAULT_PREFIX_CHARS,
    threshold: float = DEFAULT_THRESHOLD,
) -> StepResult:
    """Identify then remove duplicates (see module docstring for the contract)."""
    return remove_duplicates(frame, identify_duplicates(frame, method, prefix_chars, threshold))
