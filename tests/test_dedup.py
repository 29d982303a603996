"""Dedup contract (DESIGN.md): normalised prefix keys, global, earliest survives, ties by order."""

import gzip
import json
from datetime import datetime, timezone

import polars as pl
import pytest

from curate.normalize import normalize_text
from curate.schemas import polars_schema
from curate.steps.dedup import dedup
from tests.conftest import DATA, read_json, write_jsonl


def frame(rows):
    schema = polars_schema("prompts")
    base = {"id": None, "user_id": "u", "prompt": None, "created_at": None}
    return pl.DataFrame([{**base, **r} for r in rows], schema={k: schema[k] for k in base})


def test_case_whitespace_and_fullwidth_variants_are_duplicates():
    result = dedup(
        frame(
            [
                {"id": "1", "prompt": "Tell me a joke"},
                {"id": "2", "prompt": "  TELL\u00a0me   a\tjoke "},
                {"id": "3", "prompt": "Ｔｅｌｌ ｍｅ ａ ｊｏｋｅ"},
                {"id": "4", "prompt": "Tell me a story"},
            ]
        )
    )
    assert result.kept["id"].to_list() == ["1", "4"]
    assert result.removed.select("id", "duplicate_of", "reason").rows() == [
        ("2", "1", "duplicate"),
        ("3", "1", "duplicate"),
    ]


def test_long_prompts_sharing_the_first_100_characters_are_duplicates():
    stem = "a" * 100
    result = dedup(
        frame(
            [{"id": "1", "prompt": stem + " one ending"}, {"id": "2", "prompt": stem + " another"}]
        )
    )
    assert result.kept["id"].to_list() == ["1"]
    shorter = dedup(
        frame([{"id": "1", "prompt": "a" * 99 + "b"}, {"id": "2", "prompt": "a" * 99 + "c"}])
    )
    assert shorter.kept.height == 2


def test_prompt_shorter_than_prefix_is_keyed_by_whole_text():
    result = dedup(
        frame(
            [
                {"id": "1", "prompt": "hi"},
                {"id": "2", "prompt": "hi there"},
                {"id": "3", "prompt": "HI"},
            ]
        )
    )
    assert result.kept["id"].to_list() == ["1", "2"]


def test_earliest_created_at_survives_and_missing_times_sort_last():
    t = lambda d: datetime(2024, 1, d, tzinfo=timezone.utc)  # noqa: E731
    result = dedup(
        frame(
            [
                {"id": "late", "prompt": "same", "created_at": t(5)},
                {"id": "none", "prompt": "same", "created_at": None},
                {"id": "early", "prompt": "same", "created_at": t(2)},
                {"id": "early-too", "prompt": "same", "created_at": t(2)},
            ]
        )
    )
    assert result.kept["id"].to_list() == ["early"]  # tie at the earliest time: input order
    assert set(result.removed["duplicate_of"]) == {"early"}


def test_without_timestamps_the_first_row_survives_and_dedup_is_global_across_users():
    result = dedup(
        frame(
            [
                {"id": "1", "user_id": "alice", "prompt": "x"},
                {"id": "2", "user_id": "bob", "prompt": "X"},
            ]
        )
    )
    assert result.kept["id"].to_list() == ["1"]


def test_exact_method_needs_the_whole_normalised_text():
    stem = "b" * 120
    rows = [
        {"id": "1", "prompt": stem + "1"},
        {"id": "2", "prompt": stem + "2"},
        {"id": "3", "prompt": (stem + "1").upper()},
    ]
    assert dedup(frame(rows), method="exact").kept["id"].to_list() == ["1", "2"]
    assert dedup(frame(rows), method="prefix").kept["id"].to_list() == ["1"]


def test_prefix_chars_option():
    rows = [{"id": "1", "prompt": "abcdef"}, {"id": "2", "prompt": "abcxyz"}]
    assert dedup(frame(rows), prefix_chars=3).kept.height == 1
    assert dedup(frame(rows), prefix_chars=4).kept.height == 2


def _anthropic_rows():
    rows = []
    for path in sorted((DATA / "anthropic_evals").rglob("*.jsonl.gz")):
        name = f"{path.parent.name}/{path.name.removesuffix('.jsonl.gz')}"
        for number, line in enumerate(
            gzip.decompress(path.read_bytes()).decode().splitlines(), start=1
        ):
            record = json.loads(line)
            rows.append({"id": f"{name}:{number}", "user_id": name, "question": record["question"]})
    return rows


def _reference_removed(rows, prefix_chars=100):
    """The contract in a few obvious lines: first row of each normalised-prefix key survives."""
    survivor, removed = {}, {}
    for row in rows:
        key = normalize_text(row["question"])[:prefix_chars]
        if key in survivor:
            removed[row["id"]] = survivor[key]
        else:
            survivor[key] = row["id"]
    return removed


@pytest.mark.parametrize("method", ["prefix", "exact"])
def test_real_anthropic_evals_match_a_plain_python_reference(tmp_path, run_cli, method):
    rows = _anthropic_rows()
    assert len(rows) > 27_000
    source = write_jsonl(tmp_path / "evals.jsonl", rows)
    out, removed = tmp_path / "out.parquet", tmp_path / "removed.parquet"
    run_cli(
        "dedup",
        source,
        "-o",
        out,
        "--prompt-col",
        "question",
        "--method",
        method,
        "--removed",
        removed,
        "-q",
    )
    got = dict(pl.read_parquet(removed).select("id", "duplicate_of").iter_rows())
    expected = _reference_removed(rows, 100 if method == "prefix" else 10**9)
    assert got == expected
    assert len(expected) > 1000  # the data really has duplicates
    stats = read_json(tmp_path / "out.parquet.stats.json")
    assert stats["rows_in"] == len(rows) == stats["rows_kept"] + stats["removed"]["duplicate"]
    assert pl.read_parquet(out).height == len(rows) - len(expected)


def test_persona_prompts_sharing_52_characters_are_not_merged():
    persona = [r for r in _anthropic_rows() if r["user_id"].startswith("persona/")]
    prefixes = {normalize_text(r["question"])[:52] for r in persona}
    assert len(prefixes) == 1  # they all start alike...
    data = (
        pl.DataFrame(persona)
        .rename({"question": "prompt"})
        .with_columns(pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("created_at"))
    )
    kept = dedup(data).kept.height
    assert kept == len(persona) - len(_reference_removed(persona))
    assert kept > 0.95 * len(persona)  # ...yet the default prefix keeps them apart
    assert dedup(data, prefix_chars=52).kept.height == 1


def test_minhash_finds_paraphrases_that_prefix_keys_miss():
    base = "please write a short story about a brave little toaster who travels across the country to find its owner"
    rows = [
        {"id": "orig", "prompt": base},
        {"id": "edit", "prompt": "Hey, " + base},  # different first characters
        {
            "id": "other",
            "prompt": "explain how photosynthesis works in plants and why leaves are green in summer",
        },
    ]
    assert dedup(frame(rows)).kept.height == 3  # the prefix key misses the edit
    result = dedup(frame(rows), method="minhash")
    assert result.kept["id"].to_list() == ["orig", "other"]
    assert result.removed.select("id", "duplicate_of").rows() == [("edit", "orig")]


def test_minhash_keeps_the_earliest_and_is_deterministic():
    t = lambda d: datetime(2024, 1, d, tzinfo=timezone.utc)  # noqa: E731
    text = "one two three four five six seven eight nine ten eleven twelve"
    rows = [
        {"id": "late", "prompt": text, "created_at": t(9)},
        {"id": "early", "prompt": text + " thirteen", "created_at": t(1)},
    ]
    first = dedup(frame(rows), method="minhash", threshold=0.7)
    assert first.kept["id"].to_list() == ["early"]
    again = dedup(frame(rows), method="minhash", threshold=0.7)
    assert first.removed.equals(again.removed)
