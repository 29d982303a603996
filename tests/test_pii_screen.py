"""curate.pii.screen_frame: drop / redact / flag, recognizers, workers, offline, no leaks."""

from __future__ import annotations

import json
import logging
import socket

import polars as pl
import pytest

pytest.importorskip("presidio_analyzer")

from curate.pii import NO_NER_NOTE, redact_text, screen_frame  # noqa: E402
from curate.pii.engine import BASE_ENTITIES, analyze_text, get_engine  # noqa: E402

EMAIL = "zelda.quokka@example.org"
PHONE = "+44 20 7946 0958"
CARD = "5555 5555 5555 4444"
SSN = "536-22-8721"
IBAN = "DE89 3704 0044 0532 0130 00"
IP = "203.0.113.77"
CANARIES = [EMAIL, PHONE, CARD, SSN, IBAN, IP]


def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "prompt": [
                f"Write to {EMAIL} and call {PHONE} about the invoice.",
                "Explain photosynthesis in 3 sentences, it's line 1699 of order #399937.",
                f"My card {CARD} and SSN {SSN}; IBAN {IBAN}.",
                None,
                f"Why does {IP} refuse ssh since 2024-03-05 12:30?",
            ],
            "completion": ["ok", f"mail me: {EMAIL}", "no", "fine", "hm"],
        }
    )


def spans_of(text: str, threshold: float = 0.5) -> list[tuple[str, str]]:
    engine = get_engine(BASE_ENTITIES)
    return [(t, text[s:e]) for t, s, e, _ in analyze_text(engine, text, threshold)]


def test_drop_removes_rows_with_reason_and_types():
    result = screen_frame(frame(), action="drop", workers=1)
    assert result.kept["id"].to_list() == ["b", "d"]
    assert result.removed["id"].to_list() == ["a", "c", "e"]
    assert set(result.removed["reason"].to_list()) == {"pii"}
    assert result.removed["pii_entity_types"].to_list() == [
        ["EMAIL_ADDRESS", "PHONE_NUMBER"],
        ["CREDIT_CARD", "IBAN_CODE", "US_SSN"],
        ["IP_ADDRESS"],
    ]
    assert result.kept.columns == frame().columns
    assert result.kept.height + result.removed.height == frame().height
    assert result.removed_by_reason == {"pii": 3}
    extra = result.extra
    assert extra["entity_counts"]["EMAIL_ADDRESS"] == 1
    assert extra["entity_counts"]["PHONE_NUMBER"] == 1
    assert extra["rows_with_pii"] == 3
    assert extra["ner"] is False and extra["note"] == NO_NER_NOTE


def test_redact_replaces_spans_and_nothing_else():
    df = frame()
    result = screen_frame(df, action="redact", workers=1)
    assert result.removed.height == 0
    out = result.kept["prompt"].to_list()
    assert out[0] == "Write to <EMAIL_ADDRESS> and call <PHONE_NUMBER> about the invoice."
    assert out[1] == df["prompt"][1]
    assert out[2] == "My card <CREDIT_CARD> and SSN <US_SSN>; IBAN <IBAN_CODE>."
    assert out[3] is None
    assert out[4] == "Why does <IP_ADDRESS> refuse ssh since 2024-03-05 12:30?"
    # the completion column is not screened unless asked
    assert result.kept["completion"].to_list() == df["completion"].to_list()
    assert result.extra["spans_redacted"] == 6


def test_redact_text_overlaps_are_deterministic():
    text = "abcdefghij"
    spans = [("B", 2, 6, 0.9), ("A", 0, 3, 0.5), ("C", 8, 10, 0.7)]
    assert redact_text(text, spans) == "<A>defgh<C>"
    assert redact_text(text, list(reversed(spans))) == "<A>defgh<C>"


def test_flag_keeps_text_and_adds_offsets():
    df = frame()
    result = screen_frame(df, action="flag", workers=1, columns=["prompt", "completion"])
    kept = result.kept
    assert kept["prompt"].to_list() == df["prompt"].to_list()
    assert kept.schema["pii_entities"] == pl.List(
        pl.Struct({"type": pl.String, "start": pl.Int32, "end": pl.Int32, "score": pl.Float64})
    )
    first = kept["pii_entities"][0].to_list()
    text = df["prompt"][0]
    assert [(d["type"], text[d["start"] : d["end"]]) for d in first] == [
        ("EMAIL_ADDRESS", EMAIL),
        ("PHONE_NUMBER", PHONE),
    ]
    assert all(0.5 <= d["score"] <= 1.0 for d in first)
    assert kept["pii_entities"][1].to_list() == []
    assert kept["pii_entities"][3].to_list() == []
    # the second screened column gets its own flag column
    assert [d["type"] for d in kept["pii_entities_completion"][1].to_list()] == ["EMAIL_ADDRESS"]


def test_other_column_is_screened_for_drop():
    result = screen_frame(frame(), action="drop", workers=1, columns=("prompt", "completion"))
    assert result.removed["id"].to_list() == ["a", "b", "c", "e"]


def test_errors_name_columns_not_values():
    with pytest.raises(ValueError, match="action"):
        screen_frame(frame(), action="mask")
    with pytest.raises(ValueError, match="'nope'"):
        screen_frame(frame(), columns=["nope"])
    with pytest.raises(ValueError, match="PERSON"):
        screen_frame(frame(), entities=["PERSON"], workers=1)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Mastercard 2-series 2223 0031 2200 3222 ok", ("CREDIT_CARD", "2223 0031 2200 3222")),
        ("Visa 19 digits 4111111111111111110.", ("CREDIT_CARD", "4111111111111111110")),
        ("JCB 15: 180016070420458", ("CREDIT_CARD", "180016070420458")),
        ("Maestro 12: 6304 2737 3398", ("CREDIT_CARD", "6304 2737 3398")),
        ("Amex 3782 822463 10005 please", ("CREDIT_CARD", "3782 822463 10005")),
        ("Diners 3056 930902 5904", ("CREDIT_CARD", "3056 930902 5904")),
        ("UnionPay 6200000000000005", ("CREDIT_CARD", "6200000000000005")),
        ("Discover 6011-1111-1111-1117", ("CREDIT_CARD", "6011-1111-1111-1117")),
        ("call +49 30 901820 now", ("PHONE_NUMBER", "+49 30 901820")),
        ("call +81 3-1234-5678 now", ("PHONE_NUMBER", "+81 3-1234-5678")),
        ("WhatsApp +55 11 91234-5678", ("PHONE_NUMBER", "+55 11 91234-5678")),
        ("Mobile: 03.93.92.16.85", ("PHONE_NUMBER", "03.93.92.16.85")),
        ("Phone:\n467 3395\n", ("PHONE_NUMBER", "467 3395")),
        ("ring 0044 20 7946 0958 today", ("PHONE_NUMBER", "0044 20 7946 0958")),
        ("(415) 555-0132 is my cell", ("PHONE_NUMBER", "(415) 555-0132")),
        ("lower case iban gb82west12345698765432 thanks", ("IBAN_CODE", "gb82west12345698765432")),
        ("host 2001:db8:85a3::8a2e:370:7334 down", ("IP_ADDRESS", "2001:db8:85a3::8a2e:370:7334")),
    ],
)
def test_recall_beyond_stock_presidio(text, expected):
    assert spans_of(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "See line 1699 of the file.",
        "My order #399937 is late.",
        "Version 3.11.7 and build 26.6.47864 on 2023-04-05 at 14:30.",
        "It costs $1,299.99, about 3.14159265 times more.",
        "Card 4111 1111 1111 1112 fails Luhn.",
        "Years 1990-2000 and ratio 16:9 and 1920x1080.",
        "Python 3.12 on Ubuntu 22.04 with 16 GB RAM and port 8080.",
    ],
)
def test_no_false_positives_on_numbers(text):
    assert spans_of(text) == []


def test_ip_address_is_not_a_phone():
    assert spans_of("call 192.168.100.200 now") == [("IP_ADDRESS", "192.168.100.200")]


def test_results_do_not_depend_on_workers():
    texts = [row for row in frame()["prompt"].to_list()] * 30
    df = pl.DataFrame({"prompt": texts})
    one = screen_frame(df, action="flag", workers=1)
    two = screen_frame(df, action="flag", workers=2, batch_size=7)
    assert two.extra["workers"] == 2
    assert one.kept.equals(two.kept)
    drop1 = screen_frame(df, action="drop", workers=1)
    drop2 = screen_frame(df, action="drop", workers=2, batch_size=5)
    assert drop1.removed.equals(drop2.removed) and drop1.kept.equals(drop2.kept)


def test_runs_with_network_blocked(monkeypatch):
    from curate.pii import engine as engine_module

    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    engine_module._cached_engine.cache_clear()  # build the engine under the patch
    try:
        result = screen_frame(frame(), action="drop", workers=1)
    finally:
        engine_module._cached_engine.cache_clear()
    assert result.removed["id"].to_list() == ["a", "c", "e"]


def test_canary_values_never_leak(caplog):
    caplog.set_level(logging.DEBUG)
    df = frame()
    dropped = screen_frame(df, action="drop", workers=1, columns=["prompt", "completion"])
    redacted = screen_frame(df, action="redact", workers=1, columns=["prompt", "completion"])
    flagged = screen_frame(df, action="flag", workers=1)
    blob = json.dumps([dropped.extra, redacted.extra, flagged.extra], default=str)
    logs = caplog.text + "".join(str(r.args) for r in caplog.records)
    redacted_text = json.dumps(redacted.kept.to_dicts())
    for value in CANARIES:
        assert value not in blob
        assert value not in logs
        assert value not in redacted_text


def test_error_messages_do_not_carry_text(monkeypatch):
    from curate.pii import engine as engine_module

    engine = get_engine(BASE_ENTITIES)

    def explode(text, **kwargs):
        raise ValueError(f"cannot handle {text}")

    monkeypatch.setattr(engine.analyzer, "analyze", explode)
    with pytest.raises(RuntimeError) as info:
        screen_frame(frame(), action="drop", workers=1)
    message = str(info.value) + repr(info.value.__cause__) + repr(info.value.__context__)
    assert "row 0" in message
    for value in CANARIES:
        assert value not in message
    assert engine_module  # engine restored by monkeypatch
