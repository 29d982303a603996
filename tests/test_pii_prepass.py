"""The vectorised pre-pass never changes results: on/off identical, gates sound."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("presidio_analyzer")

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

import pii_corpus  # noqa: E402

from curate.pii import screen_frame  # noqa: E402
from curate.pii.engine import BASE_ENTITIES, analyze_text, get_engine  # noqa: E402
from curate.pii.prepass import GATES, candidate_entities, gate_allows, prepass_supported  # noqa: E402

ADVERSARIAL = [
    "",
    "no digits at all, just words and a colon: here",
    "fullwidth ０９０－１２３４－５６７８ and arabic ٠١٢٣٤٥٦٧٨٩ digits",
    "Kelvin \u212a\u212a12 3456 7890 and long s \u017f\u017f12abcd",
    "std::vector<int> and a::b::c and fe80::1 and ::",
    "1:2:3:4:5:6:7:8 and abcd:ef01:2345:6789:abcd:ef01:2345:6789",
    "::ffff:192.0.2.128 and 64:ff9b::192.0.2.33",
    "card 4111-1111-1111-1111, call (415)555-0132x12, ssn 078 05 1121",
    "de89370400440532013000 and DE89 3704 0044 0532 0130 00 Thanks",
    "mail @ nowhere and a@b and x@y.z and ünïcødé@exämple.com",
    "+1 (415) 555-0132 / 0044\u00a020\u00a07946\u00a00958 / 415.555.0132",
    "5 5 5 5 5 5 5 and 1-2-3-4-5-6-7 and 12/34/56/78",
    "ID 123456789 and 12345-6789 and 123-456789",
]


def _random_texts(n: int, seed: int) -> list[str]:
    r = random.Random(seed)
    alphabet = "0123456789 -.()/:+@abcdefxX#\u00a0,:"
    return ["".join(r.choice(alphabet) for _ in range(r.randint(5, 40))) for _ in range(n)]


def test_gates_cover_all_default_entities():
    assert prepass_supported(BASE_ENTITIES)
    assert not prepass_supported(BASE_ENTITIES + ("PERSON",))


def test_prepass_on_off_identical_on_corpus_and_adversarial_texts():
    samples = pii_corpus.generate(1500, seed=11, pii_rate=0.3)
    texts = [s.text for s in samples] + ADVERSARIAL + _random_texts(400, seed=3)
    df = pl.DataFrame({"prompt": texts})
    on = screen_frame(df, action="flag", workers=1, prepass=True)
    off = screen_frame(df, action="flag", workers=1, prepass=False)
    assert on.extra["prepass"] is True and off.extra["prepass"] is False
    assert on.extra["texts_analysed"] < off.extra["texts_analysed"]
    assert on.kept.equals(off.kept)
    assert on.extra["entity_counts"] == off.extra["entity_counts"]
    # with a low threshold too (weak recognizers fire)
    on = screen_frame(df, action="flag", workers=1, prepass=True, threshold=0.05)
    off = screen_frame(df, action="flag", workers=1, prepass=False, threshold=0.05)
    assert on.kept.equals(off.kept)


def test_every_reported_span_matches_its_gate():
    engine = get_engine(BASE_ENTITIES)
    samples = pii_corpus.generate(600, seed=5, pii_rate=0.5)
    texts = [s.text for s in samples] + ADVERSARIAL
    cands = candidate_entities(pl.Series(texts), BASE_ENTITIES).to_list()
    for text, cand in zip(texts, cands, strict=True):
        for entity_type, start, end, _ in analyze_text(engine, text, 0.0):
            assert gate_allows(entity_type, text[start:end])
            assert entity_type in cand


def test_gates_are_plain_patterns():
    # no anchors, word boundaries, look-arounds or Unicode classes: a match inside a span is
    # a match inside the text, and Python's re and Rust's regex agree on them
    for pattern in GATES.values():
        for banned in ("^", "$", "\\b", "\\B", "(?=", "(?!", "(?<", "\\d", "\\w", "\\s", "(?i"):
            assert banned not in pattern


def test_candidate_entities_handles_nulls():
    out = candidate_entities(pl.Series([None, "a@b.co", "nothing"]), BASE_ENTITIES).to_list()
    assert out == [[], ["EMAIL_ADDRESS"], []]
