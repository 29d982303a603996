"""presidio-research's labelled synthetic data (tests/data/pii_presidio_synth) and NER."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("presidio_analyzer")
spacy = pytest.importorskip("spacy")

from curate.pii import screen_frame  # noqa: E402

SYNTH = Path(__file__).parent / "data" / "pii_presidio_synth" / "synth_dataset_v2.json"
MIN_RECALL = {
    "EMAIL_ADDRESS": 0.95,
    "US_SSN": 0.95,
    "IP_ADDRESS": 0.95,
    "IBAN_CODE": 0.95,
    "CREDIT_CARD": 0.95,
    "PHONE_NUMBER": 0.90,
}


@pytest.fixture(scope="module")
def records():
    return json.loads(SYNTH.read_text(encoding="utf-8"))


def per_entity(records, flags, entities):
    out = {}
    for entity in entities:
        gold_n = found = pred_n = correct = 0
        for rec, row in zip(records, flags, strict=True):
            gold = [
                (s["start_position"], s["end_position"])
                for s in rec["spans"]
                if s["entity_type"] == entity
            ]
            pred = [(d["start"], d["end"]) for d in row if d["type"] == entity]
            gold_n += len(gold)
            pred_n += len(pred)
            found += sum(any(p[0] < g[1] and g[0] < p[1] for p in pred) for g in gold)
            correct += sum(any(p[0] < g[1] and g[0] < p[1] for g in gold) for p in pred)
        out[entity] = (gold_n, found / gold_n, correct / pred_n if pred_n else 0.0)
    return out


def test_per_entity_recall_on_presidio_synth(records):
    df = pl.DataFrame({"prompt": [r["full_text"] for r in records]})
    result = screen_frame(df, action="flag", workers=1)
    table = per_entity(records, result.kept["pii_entities"].to_list(), list(MIN_RECALL))
    for entity, floor in MIN_RECALL.items():
        n, recall, precision = table[entity]
        assert n > 0
        assert recall >= floor, (entity, recall, precision)
        assert precision >= 0.9, (entity, recall, precision)


def _person_names(records, k):
    names = []
    for rec in records:
        for s in rec["spans"]:
            if s["entity_type"] == "PERSON" and s["entity_value"] not in names:
                names.append(s["entity_value"])
    return names[:k]


def test_ner_model_path_finds_person_names(records, tmp_path):
    names = _person_names(records, 40)
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PERSON", "pattern": name} for name in names])
    model_dir = tmp_path / "person_ruler"
    nlp.to_disk(model_dir)

    subset = [r for r in records if any(s["entity_value"] in names for s in r["spans"])]
    df = pl.DataFrame({"prompt": [r["full_text"] for r in subset]})
    result = screen_frame(df, action="flag", workers=1, ner_model=model_dir)
    assert result.extra["ner"] is True
    assert "PERSON" in result.extra["entities"] and "LOCATION" in result.extra["entities"]
    assert "note" not in result.extra
    assert result.extra["prepass"] is False  # names can be anywhere
    table = per_entity(subset, result.kept["pii_entities"].to_list(), ["PERSON"])
    gold_n, recall, _ = table["PERSON"]
    assert gold_n >= 40 and recall >= 0.8

    redacted = screen_frame(df, action="redact", workers=1, ner_model=str(model_dir))
    out = "\n".join(redacted.kept["prompt"].to_list())
    assert "<PERSON>" in out
    for name in names:
        assert name not in out


def test_missing_ner_model_is_not_downloaded(tmp_path):
    df = pl.DataFrame({"prompt": ["hello"]})
    with pytest.raises(ValueError, match="nothing is downloaded"):
        screen_frame(df, workers=1, ner_model=tmp_path / "no_such_model")
