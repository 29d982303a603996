"""Cap and split contracts: per-user cap, user-disjoint splits, determinism."""

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

from curate.steps.cap import cap
from curate.steps.split import assign_splits, parse_ratios, split, split_summary


def users_frame(counts: dict[str, int]) -> pl.DataFrame:
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    rows = []
    for user, n in counts.items():
        for i in range(n):
            rows.append(
                {
                    "id": f"{user}-{i}",
                    "user_id": user,
                    "prompt": f"p {user} {i}",
                    "created_at": start + timedelta(hours=i),
                }
            )
    # interleave users so input order is not grouped
    return pl.DataFrame(rows).sample(fraction=1.0, shuffle=True, seed=1)


def test_cap_keeps_small_users_whole_and_big_users_exactly_at_cap():
    data = users_frame({"small": 5, "edge": 10, "big": 37})
    result = cap(data, max_per_user=10)
    counts = dict(result.kept.group_by("user_id").len().iter_rows())
    assert counts == {"small": 5, "edge": 10, "big": 10}
    assert result.removed_by_reason == {"over_cap": 27}
    assert result.kept.height + result.removed.height == data.height
    # kept rows stay in input order
    order = {i: n for n, i in enumerate(data["id"])}
    assert [order[i] for i in result.kept["id"]] == sorted(order[i] for i in result.kept["id"])


def test_cap_random_is_seeded_and_deterministic():
    data = users_frame({"big": 100})
    a = cap(data, 10, seed=3).kept["id"].to_list()
    assert a == cap(data, 10, seed=3).kept["id"].to_list()
    assert a != cap(data, 10, seed=4).kept["id"].to_list()


@pytest.mark.parametrize(
    ("keep", "expected"), [("earliest", range(0, 4)), ("latest", range(16, 20))]
)
def test_cap_earliest_and_latest(keep, expected):
    result = cap(users_frame({"u": 20}), 4, keep=keep)
    assert sorted(result.kept["id"].to_list()) == sorted(f"u-{i}" for i in expected)


def test_cap_by_other_column():
    data = users_frame({"a": 3, "b": 3}).with_columns(pl.lit("team").alias("org"))
    assert cap(data, 4, by="org").kept.height == 4


def zipf_users(n_rows=20_000, seed=0):
    rng = np.random.default_rng(seed)
    users = rng.zipf(1.6, n_rows) % 3000
    return pl.DataFrame(
        {"id": [str(i) for i in range(n_rows)], "user_id": [f"u{u}" for u in users]}
    )


@pytest.mark.parametrize("strategy", ["balanced", "hash"])
def test_split_never_puts_a_user_in_two_splits_and_loses_no_row(strategy):
    data = zipf_users()
    parts = split(data, ratios=(0.8, 0.1, 0.1), seed=0, strategy=strategy)
    users = [set(p["user_id"]) for p in parts.values()]
    assert not (users[0] & users[1] or users[0] & users[2] or users[1] & users[2])
    assert sorted(pl.concat(parts.values())["id"]) == sorted(data["id"])
    assert split_summary(parts, "user_id")["_overlap_users"]["users"] == 0


def test_balanced_split_is_within_one_users_rows_of_target():
    data = zipf_users()
    largest = data.group_by("user_id").len()["len"].max()
    ratios = (0.8, 0.1, 0.1)
    for seed in range(5):
        parts = split(data, ratios=ratios, seed=seed)
        for part, ratio in zip(parts.values(), ratios, strict=True):
            assert abs(part.height - ratio * data.height) <= largest


def test_split_is_deterministic_for_a_seed():
    data = zipf_users()
    assert assign_splits(data, seed=5).to_list() == assign_splits(data, seed=5).to_list()
    assert assign_splits(data, seed=5).to_list() != assign_splits(data, seed=6).to_list()


def test_hash_split_does_not_move_existing_users_when_new_users_arrive():
    data = zipf_users()
    before = dict(zip(data["user_id"], assign_splits(data, strategy="hash"), strict=True))
    more = pl.concat([data, pl.DataFrame({"id": ["x1", "x2"], "user_id": ["newcomer", "another"]})])
    after = dict(zip(more["user_id"], assign_splits(more, strategy="hash"), strict=True))
    assert all(after[u] == s for u, s in before.items())


def test_parse_ratios_validates():
    assert parse_ratios("0.8,0.1,0.1") == (0.8, 0.1, 0.1)
    with pytest.raises(ValueError):
        parse_ratios("0.5,0.1")
    with pytest.raises(ValueError):
        parse_ratios("1.2,-0.2")
