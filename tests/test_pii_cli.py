"""curate pii from the command line: offline, and planted values never leak outside the data."""

import socket

import polars as pl
import pytest

from tests.conftest import write_jsonl

PLANTED = [
    "jane.canary@example.com",
    "+1 415 555 0199",
    "4111 1111 1111 1111",
    "536-22-8726",
    "10.20.30.40",
    "DE89 3704 0044 0532 0130 00",
]


def rows():
    out = [
        {"user_id": f"clean{i}", "prompt": f"How do I bake bread number {i}?"} for i in range(10)
    ]
    out += [
        {
            "user_id": f"pii{i}",
            "prompt": f"My details: {value}. Can you help?",
            "completion": "Sure.",
        }
        for i, value in enumerate(PLANTED)
    ]
    out.append(
        {
            "user_id": "reply",
            "prompt": "Who should I contact?",
            "completions": [
                {"text": "Nobody.", "rank": 0},
                {"text": f"Mail {PLANTED[0]}", "rank": 1},
            ],
        }
    )
    return out


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_drop_is_offline_and_no_planted_value_leaks(tmp_path, run_cli, no_network):
    source = write_jsonl(tmp_path / "in.jsonl", rows())
    result = run_cli(
        "pii", source, "-o", tmp_path / "out.parquet", "--column", "completions", "--workers", "1"
    )
    kept = pl.read_parquet(tmp_path / "out.parquet")
    assert kept["user_id"].to_list() == [f"clean{i}" for i in range(10)]
    stats_text = (tmp_path / "out.parquet.stats.json").read_text()
    for value in PLANTED:
        assert value not in stats_text
        assert value not in result.output and value not in result.stderr
    assert '"pii": 7' in stats_text and "EMAIL_ADDRESS" in stats_text
    assert "not screened" in result.stderr  # names/locations need --ner-model


def test_redact_output_holds_no_planted_value(tmp_path, run_cli):
    source = write_jsonl(tmp_path / "in.jsonl", rows())
    run_cli("pii", source, "-o", tmp_path / "out.jsonl", "--action", "redact", "-q")
    redacted = pl.read_ndjson(tmp_path / "out.jsonl")
    assert "<EMAIL_ADDRESS>" in "".join(redacted["prompt"].to_list())
    assert all(value not in "".join(redacted["prompt"].to_list()) for value in PLANTED)


def test_flag_adds_entities_and_keeps_text(tmp_path, run_cli):
    source = write_jsonl(tmp_path / "in.jsonl", rows())
    run_cli("pii", source, "-o", tmp_path / "out.parquet", "--action", "flag", "-q")
    flagged = pl.read_parquet(tmp_path / "out.parquet")
    assert flagged.height == len(rows())
    types = {e["type"] for spans in flagged["pii_entities"].to_list() for e in spans}
    assert {
        "EMAIL_ADDRESS",
        "CREDIT_CARD",
        "US_SSN",
        "IP_ADDRESS",
        "IBAN_CODE",
        "PHONE_NUMBER",
    } <= types


def test_ranked_completions_need_drop(tmp_path, run_cli):
    source = write_jsonl(tmp_path / "in.jsonl", rows())
    result = run_cli(
        "pii",
        source,
        "-o",
        tmp_path / "o.parquet",
        "--action",
        "redact",
        "--column",
        "completions",
        expect=2,
    )
    assert "--action drop" in result.stderr
