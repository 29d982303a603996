"""Train/validation/test split by user: no user ever appears in two splits.

``balanced`` (default): users in a seeded random order go one by one to the split furthest below
its target row count. Every split ends within one user's row count (the largest user's) of its
target. ``hash``: a user's split depends only on the user id and the seed, so adding users never
moves an existing one.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import numpy as np
import polars as pl

Strategy = Literal["balanced", "hash"]
STRATEGIES: tuple[str, ...] = ("balanced", "hash")
SPLIT_NAMES: tuple[str, ...] = ("train", "validation", "test")


def parse_ratios(text: str | list[float] | tuple[float, ...]) -> tuple[float, ...]:
    """``"0.8,0.1,0.1"`` -> (0.8, 0.1, 0.1); two or three non-negative ratios summing to 1."""
    values = [float(v) for v in (text.split(",") if isinstance(text, str) else text)]
    if not 2 <= len(values) <= len(SPLIT_NAMES):
        raise ValueError("give 2 or 3 ratios (train,validation[,test])")
    if any(v < 0 for v in values) or abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(
            f"ratios must be non-negative and sum to 1, got {','.join(map(str, values))}"
        )
    return tuple(values)


def _balanced(users: pl.DataFrame, ratios: tuple[float, ...], seed: int) -> list[int]:
    """Greedy: each user (seeded random order) goes to the split furthest below its target.

    Why the bound holds: a split only receives a user while its deficit is the largest, hence
    positive, so it overshoots by less than that user's rows; and a split left short at the end
    was never further below target than the last split that overshot, by the same argument.
    """
    order = np.random.default_rng(seed).permutation(users.height)
    sizes = users["len"].to_list()
    total = sum(sizes)
    deficit = [r * total for r in ratios]
    splits = range(len(ratios))
    assigned = [0] * users.height
    for index in order.tolist():
        best = 0
        for candidate in splits:  # first split wins ties
            if deficit[candidate] > deficit[best]:
                best = candidate
        assigned[index] = best
        deficit[best] -= sizes[index]
    return assigned


def _hash_bucket(user: str, seed: int) -> float:
    digest = hashlib.blake2b(f"{seed}\x1f{user}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _hashed(users: pl.DataFrame, ratios: tuple[float, ...], seed: int) -> list[int]:
    bounds = np.cumsum(ratios)
    bounds[-1] = 1.0 + 1e-12
    return [
        int(np.searchsorted(bounds, _hash_bucket(str(u), seed), side="right"))
        for u in users[users.columns[0]]
    ]


def assign_splits(
    frame: pl.DataFrame,
    by: str = "user_id",
    ratios: tuple[float, ...] = (0.8, 0.1, 0.1),
    seed: int = 0,
    strategy: Strategy = "balanced",
) -> pl.Series:
    """Split index (0 = train, 1 = validation, 2 = test) for every row."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    if by not in frame.columns:
        raise KeyError(by)
    users = frame.group_by(by).len().sort(by)
    chosen = (
        _balanced(users, ratios, seed) if strategy == "balanced" else _hashed(users, ratios, seed)
    )
    table = users.select(by).with_columns(pl.Series("__split", chosen, dtype=pl.UInt8))
    return frame.select(by).join(table, on=by, how="left", maintain_order="left")["__split"]


def split(
    frame: pl.DataFrame,
    by: str = "user_id",
    ratios: tuple[float, ...] = (0.8, 0.1, 0.1),
    seed: int = 0,
    strategy: Strategy = "balanced",
) -> dict[str, pl.DataFrame]:
    """Rows of each split, in input order; every input row lands in exactly one split."""
    which = assign_splits(frame, by, ratios, seed, strategy)
    return {
        name: frame.filter(which == index) for index, name in enumerate(SPLIT_NAMES[: len(ratios)])
    }


def split_summary(parts: dict[str, pl.DataFrame], by: str) -> dict[str, dict[str, int]]:
    """Rows and distinct users per split, plus the user overlap between splits (always 0)."""
    summary = {
        name: {"rows": part.height, "users": part[by].n_unique()} for name, part in parts.items()
    }
    seen: set = set()
    overlap = 0
    for part in parts.values():
        users = set(part[by].unique().to_list())
        overlap += len(users & seen)
        seen |= users
    summary["_overlap_users"] = {"rows": 0, "users": overlap}
    return summary
