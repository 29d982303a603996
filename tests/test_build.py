"""curate build / import pairs / validate: round trips, K-way order, pair counts, clear errors."""

import gzip
import hashlib
import json
from math import comb
from pathlib import Path

import datasets
import polars as pl
import pytest

from curate.build.kinds import build_pairs, build_ranking
from curate.schemas import features
from tests.conftest import DATA, SAMPLE, read_json, write_jsonl

TREES = DATA / "oasst_en100" / "en_100_tree.jsonl.gz"


def build_all(
    tmp_path: Path, run_cli, source: Path, kinds=("sft", "ranking", "pairs", "ppo")
) -> Path:
    run_cli("import", "oasst", source, "-o", tmp_path / "prompts.parquet", "-q")
    run_cli("split", tmp_path / "prompts.parquet", "-o", tmp_path / "splits", "-q")
    for kind in kinds:
        run_cli("build", kind, tmp_path / "splits", "-o", tmp_path / kind, "-q")
    return tmp_path


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory):
    from click.testing import CliRunner

    from curate.cli import cli

    def run(*args):
        result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    return build_all(tmp_path_factory.mktemp("sample"), lambda *a: run(*a), SAMPLE)


@pytest.mark.parametrize("kind", ["sft", "ranking", "pairs", "ppo"])
def test_load_from_disk_and_load_dataset_agree_and_features_match_schema(sample_build, kind):
    folder = sample_build / kind
    from_disk = datasets.load_from_disk(str(folder))
    from_card = datasets.load_dataset(str(folder))
    assert set(from_disk) == set(from_card) == {"train", "validation", "test"}
    for split in from_disk:
        assert from_disk[split].features == features(kind) == from_card[split].features
        assert from_disk[split].to_list() == from_card[split].to_list()
    card = (folder / "README.md").read_text()
    assert "configs:" in card and f"config_name: {kind}" in card and "## Curation history" in card
    assert (folder / "data/train-00000-of-00001.parquet").is_file()


def _source_rankings(path: Path) -> dict[str, list[tuple[str, int]]]:
    """From the raw export: each root prompt's usable ranked replies, best first."""

    def usable(m):
        return not m.get("deleted") and m.get("review_result") is not False

    out = {}
    for line in gzip.decompress(path.read_bytes()).decode().splitlines():
        item = json.loads(line)
        trees = [item["prompt"]] if "prompt" in item else None
        if trees is None:
            continue
        root = trees[0]
        if not usable(root):
            continue
        ranked = sorted(
            (r for r in root.get("replies", []) if usable(r) and r.get("rank") is not None),
            key=lambda r: r["rank"],
        )
        out[root["message_id"]] = [(r["text"], r["rank"]) for r in ranked]
    return out


def test_k_and_order_of_completions_survive_import_split_build(tmp_path, run_cli):
    build_all(tmp_path, run_cli, TREES, kinds=("ranking", "pairs"))
    expected = _source_rankings(TREES)
    ranking = datasets.load_from_disk(str(tmp_path / "ranking"))
    rows = [row for split in ranking.values() for row in split]
    assert max(len(r["completions"]) for r in rows) == 9
    for row in rows:
        assert list(zip(row["completions"], row["ranks"], strict=True)) == expected[row["id"]]
    eligible = {k: v for k, v in expected.items() if len(v) >= 2}
    assert {r["id"] for r in rows} == set(eligible)
    pairs = datasets.load_from_disk(str(tmp_path / "pairs"))
    ties = sum(comb(n, 2) for v in eligible.values() for n in _tie_sizes([rank for _, rank in v]))
    assert (
        sum(len(s) for s in pairs.values())
        == sum(comb(len(v), 2) for v in eligible.values()) - ties
    )


def _tie_sizes(ranks):
    from collections import Counter

    return [n for n in Counter(ranks).values() if n > 1]


def test_pairs_skip_ties_and_mark_them_in_ranking():
    frame = pl.DataFrame(
        {
            "id": ["g"],
            "user_id": ["u"],
            "prompt": ["p"],
            "completions": [
                [
                    {"text": "a", "rank": 0},
                    {"text": "b", "rank": 1},
                    {"text": "c", "rank": 1},
                    {"text": "d", "rank": 2},
                ]
            ],
        },
    )
    ranking = build_ranking(frame).kept
    assert ranking["has_ties"].to_list() == [True] and ranking["ranks"].to_list() == [[0, 1, 1, 2]]
    pairs = build_pairs(frame)
    got = pairs.kept.select("chosen", "rejected").rows()
    assert got == [("a", "b"), ("a", "c"), ("a", "d"), ("b", "d"), ("c", "d")]
    assert pairs.extra["tied_pairs_skipped"] == 1


def test_build_is_byte_identical_on_rerun(tmp_path, run_cli):
    def digests(folder):
        return {
            str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "stats.json"
        }

    build_all(tmp_path / "a", run_cli, SAMPLE, kinds=("ranking",))
    build_all(tmp_path / "b", run_cli, SAMPLE, kinds=("ranking",))
    assert digests(tmp_path / "a" / "ranking") == digests(tmp_path / "b" / "ranking")


def test_zero_eligible_rows_is_a_clear_error_and_writes_nothing(tmp_path, run_cli):
    rows = [{"user_id": f"u{i}", "prompt": f"prompt {i}"} for i in range(20)]
    run_cli("split", write_jsonl(tmp_path / "in.jsonl", rows), "-o", tmp_path / "splits", "-q")
    result = run_cli("build", "sft", tmp_path / "splits", "-o", tmp_path / "sft", expect=2)
    assert "no rows eligible" in result.stderr and "completion" in result.stderr
    assert not (tmp_path / "sft").exists()


def test_chat_column_and_ppo_source_filter(tmp_path, run_cli):
    rows = [
        {
            "user_id": f"u{i}",
            "prompt": f"prompt {i}",
            "completion": f"answer {i}",
            "source": "api" if i % 2 else "labeler",
        }
        for i in range(40)
    ]
    run_cli("split", write_jsonl(tmp_path / "in.jsonl", rows), "-o", tmp_path / "splits", "-q")
    run_cli("build", "sft", tmp_path / "splits", "-o", tmp_path / "sft", "--chat", "-q")
    sft = datasets.load_from_disk(str(tmp_path / "sft"))["train"][0]
    assert sft["messages"] == [
        {"role": "user", "content": sft["prompt"]},
        {"role": "assistant", "content": sft["completion"]},
    ]
    run_cli("build", "ppo", tmp_path / "splits", "-o", tmp_path / "ppo", "--source", "api", "-q")
    stats = read_json(tmp_path / "ppo" / "stats.json")
    assert stats["rows_kept"] == 20 and stats["removed"] == {"source_not_api": 20}


def test_import_pairs_from_hh_rlhf(tmp_path, run_cli):
    source = DATA / "hh_rlhf" / "harmless-base-test.jsonl.gz"
    result = run_cli("import", "pairs", source, "-o", tmp_path / "p.parquet", "--user-id", "hh")
    assert "user-level split" in result.stderr.replace("\n", " ") or "user_id" in result.stderr
    frame = pl.read_parquet(tmp_path / "p.parquet")
    raw = [json.loads(line) for line in gzip.decompress(source.read_bytes()).decode().splitlines()]
    stats = read_json(tmp_path / "p.parquet.stats.json")
    assert (
        stats["rows_in"]
        == len(raw)
        == frame.height + sum(stats["removed"].values()) + sum(stats["rejected"].values())
    )
    first = raw[0]
    row = frame.row(0, named=True)
    assert first["chosen"].startswith("\n\n" + row["prompt"])
    assert first["chosen"].rstrip().endswith(row["completions"][0]["text"])
    assert first["rejected"].rstrip().endswith(row["completions"][1]["text"])
    assert set(frame["user_id"]) == {"hh"}
    run_cli(
        "import", "pairs", source, "-o", tmp_path / "q.parquet", expect=2
    )  # must choose user ids


def test_validate_reports_problems(tmp_path, run_cli, sample_build):
    assert (
        "valid ranking dataset"
        in run_cli("validate", sample_build / "ranking", "--kind", "ranking").output
    )
    bad = tmp_path / "bad.parquet"
    pl.DataFrame(
        {
            "id": ["a", "a"],
            "user_id": ["u", "u"],
            "prompt": ["p", ""],
            "completions": [["x"], ["y", "z"]],
            "ranks": [[0], [1, 0]],
        }
    ).write_parquet(bad)
    out = run_cli("validate", bad, "--kind", "ranking", expect=1).output
    for message in (
        "duplicate ids",
        "empty strings",
        "fewer than 2 completions",
        "ranks not best first",
    ):
        assert message in out
    out = run_cli("validate", sample_build / "sft", "--kind", "ranking", expect=1).output
    assert "required column missing" in out
