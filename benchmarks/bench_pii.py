"""Benchmark ``curate pii`` against stock presidio, and per-entity figures on presidio-research data.

    python benchmarks/bench_pii.py [--n 20000] [--workers 2] [--seed 0]

1. Speed and recall on the same generated corpus (``benchmarks/pii_corpus.py``, about 5% of
   texts with one planted entity): stock presidio (``AnalyzerEngine`` with a blank spaCy NLP
   engine and its default recognizers, one text at a time, same entity list) against
   ``screen_frame`` with ``--workers`` workers, both timed in this run. Stock recall is given
   at presidio's default threshold (0) and at ours (0.5).
2. Per-entity recall and precision on ``synth_dataset_v2.json`` (microsoft/presidio-research),
   for both. A labelled span counts as found when a detection of the same type overlaps it; a
   detection counts as correct when it overlaps a labelled span of the same type.

Prints figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import pii_corpus  # noqa: E402

from curate.pii import BASE_ENTITIES, flag_column_name, screen_frame  # noqa: E402

SYNTH = ROOT / "tests" / "data" / "pii_presidio_synth" / "synth_dataset_v2.json"


def ours(texts: list[str], workers: int, prepass: bool = True, threshold: float = 0.5):
    df = pl.DataFrame({"prompt": texts})
    t0 = time.perf_counter()
    result = screen_frame(df, action="flag", workers=workers, prepass=prepass, threshold=threshold)
    elapsed = time.perf_counter() - t0
    col = flag_column_name("prompt", ["prompt"])
    spans = [
        [(d["type"], d["start"], d["end"], d["score"]) for d in row]
        for row in result.kept[col].to_list()
    ]
    return spans, elapsed, result.extra


def stock(texts: list[str]):
    from curate.pii.engine import build_stock_engine

    engine = build_stock_engine()
    entities = list(BASE_ENTITIES)
    engine.analyze("warm up 555-0100", language="en", entities=entities)
    t0 = time.perf_counter()
    spans = [
        [
            (r.entity_type, r.start, r.end, r.score)
            for r in engine.analyze(text, language="en", entities=entities)
        ]
        for text in texts
    ]
    return spans, time.perf_counter() - t0


def at_threshold(spans, threshold):
    return [[s for s in row if s[3] >= threshold] for row in spans]


def synth_table(records, detected, entities) -> dict[str, tuple[int, float, float]]:
    table = {}
    for entity in entities:
        gold_n = found = pred_n = correct = 0
        for rec, spans in zip(records, detected, strict=True):
            gold = [
                (s["start_position"], s["end_position"])
                for s in rec["spans"]
                if s["entity_type"] == entity
            ]
            pred = [(s[1], s[2]) for s in spans if s[0] == entity]
            gold_n += len(gold)
            pred_n += len(pred)
            found += sum(any(p[0] < g[1] and g[0] < p[1] for p in pred) for g in gold)
            correct += sum(any(p[0] < g[1] and g[0] < p[1] for g in gold) for p in pred)
        table[entity] = (
            gold_n,
            found / gold_n if gold_n else float("nan"),
            correct / pred_n if pred_n else float("nan"),
        )
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--synth", type=Path, default=SYNTH)
    args = ap.parse_args()

    samples = pii_corpus.generate(args.n, seed=args.seed)
    texts = [s.text for s in samples]
    planted = sum(len(s.planted) for s in samples)
    print(f"corpus: {len(texts)} texts, {planted} planted entities, seed {args.seed}")

    our_spans, our_time, extra = ours(texts, args.workers)
    print(
        f"curate pii ({args.workers} workers): {our_time:.2f} s, "
        f"{len(texts) / our_time:,.0f} texts/s (pre-pass sent {extra['texts_analysed']} of "
        f"{len(texts)} texts to presidio)"
    )
    base_spans, base_time = stock(texts)
    print(
        f"stock presidio (1 process, one text at a time): {base_time:.2f} s, "
        f"{len(texts) / base_time:,.0f} texts/s"
    )
    print(f"speed-up: {base_time / our_time:.1f}x")

    m_ours = pii_corpus.score(samples, our_spans)
    m_stock0 = pii_corpus.score(samples, at_threshold(base_spans, 0.0))
    m_stock5 = pii_corpus.score(samples, at_threshold(base_spans, 0.5))
    print()
    print(
        f"{'generated corpus':28} {'recall':>7} {'exact':>7} {'span prec':>9} {'clean flagged':>13}"
    )
    for name, m in (
        ("curate pii (threshold 0.5)", m_ours),
        ("stock presidio (default 0)", m_stock0),
        ("stock presidio (0.5)", m_stock5),
    ):
        print(
            f"{name:28} {m['recall']:7.3f} {m['exact_recall']:7.3f} "
            f"{m['span_precision']:9.3f} {m['clean_flagged']:12.2%}"
        )
    print("recall by type (curate / stock default):")
    for t in pii_corpus.ENTITY_TYPES:
        a, b = m_ours["recall_by_type"][t], m_stock0["recall_by_type"][t]
        print(f"  {t:14} {a:6.3f} / {b:6.3f}")

    if args.synth.exists():
        records = json.loads(args.synth.read_text(encoding="utf-8"))
        synth_texts = [r["full_text"] for r in records]
        s_ours, _, _ = ours(synth_texts, args.workers)
        s_stock, _ = stock(synth_texts)
        t_ours = synth_table(records, s_ours, BASE_ENTITIES)
        t_stock0 = synth_table(records, at_threshold(s_stock, 0.0), BASE_ENTITIES)
        t_stock5 = synth_table(records, at_threshold(s_stock, 0.5), BASE_ENTITIES)
        print()
        print(f"presidio-research synth_dataset_v2 ({len(records)} texts), overlap matching")
        print(
            f"{'entity':14} {'n':>4}  {'curate R':>8} {'curate P':>8}  "
            f"{'stock R':>7} {'stock P':>7}  {'stock@0.5 R':>11} {'P':>5}"
        )
        for entity in BASE_ENTITIES:
            n, r1, p1 = t_ours[entity]
            _, r2, p2 = t_stock0[entity]
            _, r3, p3 = t_stock5[entity]
            print(
                f"{entity:14} {n:4d}  {r1:8.3f} {p1:8.3f}  {r2:7.3f} {p2:7.3f}  "
                f"{r3:11.3f} {p3:5.3f}"
            )


if __name__ == "__main__":
    main()
