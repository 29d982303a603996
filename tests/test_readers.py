"""Readers: every format, column mapping, and every kind of bad row (rejected with a reason)."""

import gzip
import json

import datasets
import polars as pl
import pytest

from curate.errors import BadRowError, CurateError, MissingColumnError
from curate.io.readers import ColumnMap, ReadOptions, read_prompts
from curate.schemas import polars_schema
from tests.conftest import write_jsonl

ROWS = [
    {
        "id": "a",
        "user_id": "u1",
        "prompt": "Write a poem",
        "created_at": "2023-01-02T03:04:05Z",
        "extra": 1,
    },
    {
        "id": "b",
        "user_id": "u2",
        "prompt": "Explain gravity",
        "created_at": "2023-01-02T03:04:05+02:00",
        "extra": 2,
    },
]


def test_jsonl_gives_canonical_schema_and_passthrough(tmp_path):
    result = read_prompts(write_jsonl(tmp_path / "in.jsonl", ROWS))
    frame = result.frame
    schema = polars_schema("prompts")
    assert list(frame.columns[: len(schema)]) == list(schema)
    assert {k: frame.schema[k] for k in schema} == schema
    assert frame["extra"].to_list() == [1, 2]  # unknown columns pass through
    # "+02:00" is converted to UTC
    assert [t.hour for t in frame["created_at"]] == [3, 1]
    assert result.rows_in == 2 and result.rejects.height == 0


@pytest.mark.parametrize("fmt", ["parquet", "arrow", "csv", "json", "jsonl.gz", "hf"])
def test_every_format_reads_the_same_rows(tmp_path, fmt):
    frame = pl.DataFrame(ROWS).select("id", "user_id", "prompt")
    if fmt == "parquet":
        path = tmp_path / "in.parquet"
        frame.write_parquet(path)
    elif fmt == "arrow":
        path = tmp_path / "in.arrow"
        frame.write_ipc(path)
    elif fmt == "csv":
        path = tmp_path / "in.csv"
        frame.write_csv(path)
    elif fmt == "json":
        path = tmp_path / "in.json"
        path.write_text(json.dumps(frame.to_dicts()))
    elif fmt == "jsonl.gz":
        path = tmp_path / "in.jsonl.gz"
        path.write_bytes(
            gzip.compress(b"\n".join(json.dumps(r).encode() for r in frame.to_dicts()))
        )
    else:
        path = tmp_path / "hf"
        datasets.DatasetDict({"train": datasets.Dataset.from_polars(frame)}).save_to_disk(str(path))
    result = read_prompts(path)
    assert result.frame.select("id", "user_id", "prompt").to_dicts() == frame.to_dicts()


def test_column_mapping(tmp_path):
    rows = [{"uid": 7, "text": "hi there", "ts": "2024-05-01T00:00:00", "key": "k1"}]
    opts = ReadOptions(columns=ColumnMap(id="key", user_id="uid", prompt="text", created_at="ts"))
    frame = read_prompts(write_jsonl(tmp_path / "in.jsonl", rows), opts).frame
    assert frame.row(0, named=True)["user_id"] == "7"  # integer user ids become text
    assert frame["id"].to_list() == ["k1"] and frame["prompt"].to_list() == ["hi there"]


def test_missing_column_is_a_one_line_error_naming_the_option(tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [{"uid": "u", "prompt": "p"}])
    with pytest.raises(MissingColumnError) as info:
        read_prompts(path)
    message = str(info.value)
    assert "'user_id'" in message and "--user-col" in message and "\n" not in message


BAD_LINES = [
    (b'{"user_id": "u1", "prompt": "fine"}', None),
    (b'{"user_id": "u1", "prompt": "unterminated', "malformed_json"),
    (b'{"user_id": "u1", "prompt": "caf\xe9"}', "invalid_utf8"),
    (b'{"prompt": "no user"}', "missing_user_id"),
    (b'{"user_id": "  ", "prompt": "blank user"}', "missing_user_id"),
    (b'{"user_id": "u2", "prompt": "   "}', "empty_prompt"),
    (b'{"user_id": "u2"}', "missing_prompt"),
    (b'{"user_id": "u2", "prompt": 42}', "wrong_type"),
    (b'{"user_id": ["u2"], "prompt": "list user"}', "wrong_type"),
    (b'{"user_id": "u2", "prompt": "bad time", "created_at": "yesterday-ish"}', "bad_timestamp"),
    (b'["not", "an", "object"]', "not_an_object"),
    (b'{"user_id": "u3", "prompt": "' + b"x" * 5000 + b'"}', "prompt_too_long"),
    (b'{"id": "dup", "user_id": "u3", "prompt": "first"}', None),
    (b'{"id": "dup", "user_id": "u3", "prompt": "second"}', "duplicate_id"),
    (b'{"user_id": "u4", "prompt": "ok again", "completions": ["best", "worse"]}', None),
]


def test_bad_rows_are_rejected_with_reason_and_line_and_nothing_is_lost(tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [line for line, _ in BAD_LINES])
    result = read_prompts(path, ReadOptions(max_prompt_chars=1000))
    expected = {i + 1: reason for i, (_, reason) in enumerate(BAD_LINES) if reason}
    got = dict(
        zip(result.rejects["line"].to_list(), result.rejects["reason"].to_list(), strict=True)
    )
    assert got == expected
    assert result.frame.height + result.rejects.height == len(BAD_LINES) == result.rows_in
    assert set(result.rejects["source"].to_list()) == {str(path)}
    ranked = result.frame.filter(pl.col("user_id") == "u4")["completions"].to_list()[0]
    assert ranked == [{"text": "best", "rank": 0}, {"text": "worse", "rank": 1}]


def test_huge_line_is_rejected_without_parsing(tmp_path):
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [{"user_id": "u", "prompt": "y" * 10_000}, {"user_id": "u", "prompt": "ok"}],
    )
    result = read_prompts(path, ReadOptions(max_line_bytes=1000))
    assert result.rejects["reason"].to_list() == ["row_too_large"]
    assert result.frame["prompt"].to_list() == ["ok"]


def test_strict_fails_on_first_bad_row_naming_file_and_line(tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [line for line, _ in BAD_LINES])
    with pytest.raises(BadRowError) as info:
        read_prompts(path, ReadOptions(strict=True))
    assert f"{path}:2:" in str(info.value) and "malformed_json" in str(info.value)
    assert "unterminated" not in str(info.value)  # the row's content is never in the message


def test_csv_rejects_invalid_utf8_and_ragged_rows(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(b'user_id,prompt\nu1,"multi\nline prompt"\nu2,caf\xe9\nu3,a,b\nu4,last\n')
    result = read_prompts(path)
    assert result.frame["prompt"].to_list() == ["multi\nline prompt", "last"]
    assert dict(zip(result.rejects["line"], result.rejects["reason"], strict=True)) == {
        4: "invalid_utf8",
        5: "malformed_csv",
    }


def test_wrong_column_type_in_parquet_is_a_clear_error(tmp_path):
    path = tmp_path / "in.parquet"
    pl.DataFrame({"user_id": ["u"], "prompt": [3]}).write_parquet(path)
    with pytest.raises(CurateError, match="column 'prompt' has type"):
        read_prompts(path)


def test_derived_ids_are_stable_and_distinct_for_repeated_rows(tmp_path):
    rows = [
        {"user_id": "u", "prompt": "same"},
        {"user_id": "u", "prompt": "same"},
        {"user_id": "v", "prompt": "same"},
    ]
    path = write_jsonl(tmp_path / "in.jsonl", rows)
    first = read_prompts(path).frame["id"].to_list()
    again = read_prompts(path).frame["id"].to_list()
    assert first == again and len(set(first)) == 3


def test_unix_seconds_and_naive_times_are_utc(tmp_path):
    rows = [
        {"user_id": "u", "prompt": "a", "created_at": 0},
        {"user_id": "u", "prompt": "b", "created_at": "2024-03-01 12:00:00"},
    ]
    frame = read_prompts(write_jsonl(tmp_path / "in.jsonl", rows)).frame
    assert [t.isoformat() for t in frame["created_at"]] == [
        "1970-01-01T00:00:00+00:00",
        "2024-03-01T12:00:00+00:00",
    ]


def test_unknown_extension_is_a_clear_error(tmp_path):
    path = tmp_path / "in.xml"
    path.write_text("<a/>")
    with pytest.raises(CurateError, match="unknown input format"):
        read_prompts(path)


@pytest.mark.parametrize("name", ["remote.jsonl", "remote.parquet"])
def test_remote_paths_go_through_fsspec(name):
    import io

    import fsspec

    frame = pl.DataFrame(ROWS).select("id", "user_id", "prompt")
    buffer = io.BytesIO()
    if name.endswith(".jsonl"):
        frame.write_ndjson(buffer)
    else:
        frame.write_parquet(buffer)
    with fsspec.open(f"memory://{name}", "wb") as fh:
        fh.write(buffer.getvalue())
    result = read_prompts(f"memory://{name}")
    assert result.frame.select("id", "user_id", "prompt").to_dicts() == frame.to_dicts()
    assert result.inputs[0]["sha256"] is None  # remote inputs are not re-downloaded to hash


def test_empty_and_all_bad_inputs_give_empty_canonical_frames(tmp_path):
    empty = read_prompts(write_jsonl(tmp_path / "empty.jsonl", []))
    assert empty.frame.height == 0 and list(empty.frame.columns) == list(polars_schema("prompts"))
    broken = read_prompts(write_jsonl(tmp_path / "broken.jsonl", ["{nope", "[1"]))
    assert broken.frame.height == 0 and broken.rows_in == 2
    assert broken.rejected_by_reason == {"malformed_json": 2}
