"""Recall and precision on the seeded generated corpus (benchmarks/pii_corpus.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("presidio_analyzer")

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

import pii_corpus  # noqa: E402

from curate.pii import screen_frame  # noqa: E402


def test_generated_corpus_recall_precision_and_clean_rate():
    samples = pii_corpus.generate(6000, seed=2024, pii_rate=0.05)
    df = pl.DataFrame({"prompt": [s.text for s in samples]})
    result = screen_frame(df, action="flag", workers=1)
    detected = [
        [(d["type"], d["start"], d["end"]) for d in row]
        for row in result.kept["pii_entities"].to_list()
    ]
    m = pii_corpus.score(samples, detected)
    assert m["planted"] >= 250
    assert m["recall"] >= 0.98, m
    assert m["span_precision"] >= 0.95, m
    assert m["clean_flagged"] <= 0.005, m
    for entity_type, recall in m["recall_by_type"].items():
        assert recall >= 0.95, (entity_type, recall)


def test_corpus_is_seeded():
    a = pii_corpus.generate(50, seed=1)
    b = pii_corpus.generate(50, seed=1)
    assert [s.text for s in a] == [s.text for s in b]
    assert [s.text for s in a] != [s.text for s in pii_corpus.generate(50, seed=2)]
