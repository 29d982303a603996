"""The commands end to end: outputs, stats that add up, byte-identical reruns, atomic writes."""

import hashlib
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from curate.io import writers
from tests.conftest import SAMPLE, read_json, write_jsonl


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def messy_input(tmp_path: Path) -> Path:
    rows = []
    for user in range(30):
        for i in range(user % 7 + 1):
            rows.append(
                {
                    "user_id": f"user{user}",
                    "prompt": f"Question {i % 4} from a shared template",
                    "created_at": f"2024-01-{i + 1:02d}T00:00:00Z",
                }
            )
    rows += ['{"user_id": "u", "prompt": ', {"prompt": "no user"}, {"user_id": "x", "prompt": ""}]
    return write_jsonl(tmp_path / "raw.jsonl", rows)


def test_dedup_cap_split_chain_adds_up_and_reruns_are_byte_identical(tmp_path, run_cli):
    raw = messy_input(tmp_path)
    digests = []
    for attempt in range(2):
        out = tmp_path / f"run{attempt}"
        run_cli("dedup", raw, "-o", out / "dedup.parquet", "-q")
        run_cli(
            "cap", out / "dedup.parquet", "-o", out / "cap.parquet", "--max-per-user", "2", "-q"
        )
        run_cli("split", out / "cap.parquet", "-o", out / "splits", "-q")
        digests.append(
            [
                digest(out / p)
                for p in (
                    "dedup.parquet",
                    "cap.parquet",
                    "splits/train.parquet",
                    "splits/validation.parquet",
                    "splits/test.parquet",
                    "dedup.parquet.rejects.jsonl",
                )
            ]
        )
        for stats_file in (
            out / "dedup.parquet.stats.json",
            out / "cap.parquet.stats.json",
            out / "splits" / "stats.json",
        ):
            stats = read_json(stats_file)
            assert stats["rows_in"] == stats["rows_kept"] + sum(stats["removed"].values()) + sum(
                stats["rejected"].values()
            )
            assert stats["curate_version"] and stats["inputs"][0]["sha256"]
    assert digests[0] == digests[1]
    dedup_stats = read_json(tmp_path / "run0" / "dedup.parquet.stats.json")
    assert dedup_stats["rejected"] == {"empty_prompt": 1, "malformed_json": 1, "missing_user_id": 1}
    split_stats = read_json(tmp_path / "run0" / "splits" / "stats.json")
    assert (
        split_stats["upstream"][0]["step"] == "cap"
        and split_stats["upstream"][0]["upstream"][0]["step"] == "dedup"
    )
    assert split_stats["extra"]["user_overlap"] == 0
    assert (
        read_json(tmp_path / "run0" / "splits.stats.json") == split_stats
    )  # <output>.stats.json too
    rejects = pl.read_ndjson(tmp_path / "run0" / "dedup.parquet.rejects.jsonl")
    assert set(rejects.columns) >= {"source", "line", "reason"}


def test_jsonl_output_by_extension(tmp_path, run_cli):
    run_cli("dedup", messy_input(tmp_path), "-o", tmp_path / "out.jsonl", "-q")
    assert pl.read_ndjson(tmp_path / "out.jsonl").height > 0


def test_missing_column_error_is_one_line(tmp_path, run_cli):
    path = write_jsonl(tmp_path / "in.jsonl", [{"uid": "u", "text": "t"}])
    result = run_cli("dedup", path, "-o", tmp_path / "o.parquet", expect=2)
    assert result.stderr.strip().count("\n") == 0
    assert "--prompt-col" in result.stderr or "--user-col" in result.stderr
    run_cli(
        "dedup",
        path,
        "-o",
        tmp_path / "o.parquet",
        "--user-col",
        "uid",
        "--prompt-col",
        "text",
        "-q",
    )


def test_strict_exits_nonzero_naming_file_and_line(tmp_path, run_cli):
    raw = messy_input(tmp_path)
    result = run_cli("dedup", raw, "-o", tmp_path / "o.parquet", "--strict", expect=2)
    assert f"{raw}:" in result.stderr and "malformed_json" in result.stderr
    assert not (tmp_path / "o.parquet").exists()


def test_interrupted_write_leaves_no_output(tmp_path, monkeypatch, run_cli):
    def explode(self, path, *args, **kwargs):
        Path(path).write_bytes(b"PAR1 partial")  # half a file, then the disk fills up
        raise OSError("No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", explode)
    with pytest.raises(OSError):
        run_cli("dedup", messy_input(tmp_path), "-o", tmp_path / "o.parquet", "-q", expect=None)
    assert not (tmp_path / "o.parquet").exists()
    assert not list(tmp_path.glob(".o.parquet.tmp-*"))


def test_atomic_path_keeps_previous_output_on_failure(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), writers.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"


def test_summary_table_and_help(tmp_path, run_cli):
    result = run_cli("dedup", messy_input(tmp_path), "-o", tmp_path / "o.parquet")
    assert "kept" in result.stderr and "removed: duplicate" in result.stderr
    for command in (["dedup"], ["cap"], ["split"], ["import", "oasst"], ["run"]):
        assert "Usage" in run_cli(*command, "--help").output


def test_python_dash_m_and_bundled_recipe(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "curate", "run", "-o", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "pipeline summary" in done.stderr
    stats = read_json(tmp_path / "run" / "splits" / "stats.json")
    assert stats["extra"]["user_overlap"] == 0
    steps, node = [], stats
    while node:
        steps.append(node["step"])
        node = node["upstream"][0] if node["upstream"] else None
    assert steps[-1] == "import oasst" and "dedup" in steps and "cap" in steps
    assert SAMPLE.is_file()
