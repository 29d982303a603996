"""OpenAssistant import: both export shapes, every message accounted for."""

import json

import polars as pl

from curate.importers.oasst import import_oasst
from tests.conftest import SAMPLE, read_json, write_jsonl


def _messages():
    import gzip

    return [json.loads(line) for line in gzip.decompress(SAMPLE.read_bytes()).decode().splitlines()]


def test_flat_sample_import_accounts_for_every_message(tmp_path, run_cli):
    out = tmp_path / "prompts.parquet"
    run_cli("import", "oasst", SAMPLE, "-o", out, "-q")
    stats = read_json(tmp_path / "prompts.parquet.stats.json")
    messages = _messages()
    assert stats["rows_in"] == len(messages)
    assert stats["rows_in"] == stats["rows_kept"] + sum(stats["removed"].values()) + sum(
        stats["rejected"].values()
    )
    assert stats["removed"]["deleted"] > 0 and stats["removed"]["review_failed"] > 0
    ids = {m["message_id"] for m in messages}
    assert stats["removed"]["orphan"] == sum(
        1 for m in messages if m["parent_id"] and m["parent_id"] not in ids
    )

    frame = pl.read_parquet(out)
    by_id = {m["message_id"]: m for m in messages}
    for row in frame.iter_rows(named=True):
        source = by_id[row["id"]]
        assert source["role"] == "prompter" and source["parent_id"] is None
        assert row["user_id"] == source["user_id"] and row["prompt"] == source["text"]
        replies = [
            m
            for m in messages
            if m["parent_id"] == row["id"]
            and not m["deleted"]
            and m["review_result"] is not False
            and m["rank"] is not None
        ]
        expected = [
            {"text": m["text"], "rank": m["rank"]} for m in sorted(replies, key=lambda m: m["rank"])
        ]
        assert (row["completions"] or []) == expected
        if expected:
            assert row["completion"] == expected[0]["text"]


def test_all_turns_adds_later_prompter_turns(tmp_path):
    roots = import_oasst(str(SAMPLE))
    every = import_oasst(str(SAMPLE), all_turns=True)
    assert len(every.records) == len(roots.records) + roots.dispositions["later_turn"]


def test_nested_trees_without_user_ids_use_the_tree_id(tmp_path):
    tree = {
        "message_tree_id": "t1",
        "prompt": {
            "message_id": "p1",
            "text": "Root prompt",
            "role": "prompter",
            "deleted": False,
            "review_result": True,
            "replies": [
                {
                    "message_id": f"a{r}",
                    "text": f"reply {r}",
                    "role": "assistant",
                    "rank": r,
                    "deleted": False,
                    "review_result": True,
                    "replies": [],
                }
                for r in (2, 0, 1)
            ]
            + [
                {
                    "message_id": "gone",
                    "text": "x",
                    "role": "assistant",
                    "rank": 3,
                    "deleted": True,
                    "replies": [],
                }
            ],
        },
    }
    path = write_jsonl(tmp_path / "trees.jsonl", [tree, "{broken"])
    result = import_oasst(str(path))
    assert result.shape == "trees" and result.user_ids_from_tree == 1
    record = result.records[0]
    assert record["user_id"] == "tree:t1"
    assert [c["text"] for c in record["completions"]] == ["reply 0", "reply 1", "reply 2"]
    assert result.dispositions == {"attached_as_completion": 3, "deleted": 1}
    assert [r["reason"] for r in result.rejects] == ["malformed_json"]
    assert result.messages == 6


def test_a_message_with_a_non_text_body_is_rejected_not_lost(tmp_path, run_cli):
    messages = [
        {
            "message_id": "p1",
            "parent_id": None,
            "user_id": "u",
            "text": "fine prompt",
            "role": "prompter",
        },
        {"message_id": "p2", "parent_id": None, "user_id": "u", "text": 12345, "role": "prompter"},
    ]
    path = write_jsonl(tmp_path / "flat.jsonl", messages)
    run_cli("import", "oasst", path, "-o", tmp_path / "out.parquet", "-q")
    stats = read_json(tmp_path / "out.parquet.stats.json")
    assert (
        stats["rows_in"] == 2 and stats["rows_kept"] == 1 and stats["rejected"] == {"wrong_type": 1}
    )
