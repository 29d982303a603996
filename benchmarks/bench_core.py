"""Benchmark: dedup -> cap -> split from a Parquet file to split Parquet files.

Prints, measured in the same run, each part in a fresh process (so peak RSS is its own):
  (a) curate's time / a plain polars read_parquet + write_parquet of the same data   (target <= 2.0)
  (b) speed-up of curate over a straightforward pure-Python implementation of the contract (>= 10x)
  (c) peak RSS of each.

    python benchmarks/bench_core.py                 # 2,000,000 rows
    python benchmarks/bench_core.py --rows 200000   # quicker
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from curate.io.readers import read_prompts
from curate.io.writers import write_frame
from curate.steps.cap import cap
from curate.steps.dedup import dedup
from curate.steps.split import split

WORDS = [
    "explain",
    "write",
    "story",
    "about",
    "the",
    "a",
    "how",
    "to",
    "python",
    "code",
    "recipe",
    "summarise",
    "article",
    "poem",
    "why",
    "is",
    "sky",
    "blue",
    "translate",
    "into",
    "french",
    "list",
    "ideas",
    "for",
    "birthday",
    "party",
    "email",
    "manager",
    "asking",
    "leave",
    "compare",
    "cats",
    "dogs",
    "history",
    "of",
    "rome",
    "quantum",
    "computing",
    "simple",
    "terms",
    "plan",
    "trip",
    "japan",
    "budget",
    "week",
    "give",
]


def generate(rows: int, seed: int, path: Path) -> None:
    """Zipf users (some far over 200 prompts), ~12% prefix duplicates with case/space variants."""
    rng = np.random.default_rng(seed)
    # user of each row: P(rank r) ~ r^-0.9 over rows/10 users, so a few hundred users hold far
    # over the cap of 200 prompts (the cap keeps about two thirds of the rows) and most hold a handful
    n_users = max(rows // 10, 10)
    weights = np.arange(1, n_users + 1, dtype=np.float64) ** -0.9
    users = rng.choice(n_users, size=rows, p=weights / weights.sum())
    n_unique = rows
    lengths = rng.integers(8, 60, n_unique)
    word_ids = rng.integers(0, len(WORDS), int(lengths.sum()))
    prompts, offset = [], 0
    for i, length in enumerate(lengths.tolist()):
        words = [WORDS[w] for w in word_ids[offset : offset + length].tolist()]
        offset += length
        prompts.append(f"{i} " + " ".join(words))
    dup_rows = rng.random(rows) < 0.12
    sources = rng.integers(0, rows, rows)
    variant = rng.integers(0, 4, rows)
    rnd = random.Random(seed)
    for i in np.flatnonzero(dup_rows).tolist():
        text = prompts[int(sources[i])]
        kind = int(variant[i])
        if kind == 0:
            text = text.upper()
        elif kind == 1:
            text = text.replace(" ", "  \u00a0", 3)
        elif kind == 2:
            text = text + " " + rnd.choice(WORDS) * 30  # same long prefix, different tail
        prompts[i] = text
    start = datetime(2022, 1, 1, tzinfo=timezone.utc)
    seconds = rng.integers(0, 365 * 24 * 3600, rows)
    times = pl.Series([start + timedelta(seconds=int(s)) for s in seconds]).dt.cast_time_unit("us")
    frame = pl.DataFrame(
        {
            "id": [f"r{i}" for i in range(rows)],
            "user_id": [f"user{u}" for u in users.tolist()],
            "prompt": prompts,
            "created_at": times,
        }
    ).with_columns(
        pl.when(pl.Series(rng.random(rows) < 0.05))
        .then(None)
        .otherwise(pl.col("created_at"))
        .alias("created_at")
    )
    frame.write_parquet(path)


def measure_baseline(src: Path, out: Path) -> None:
    pl.read_parquet(src).write_parquet(out / "copy.parquet")


def measure_curate(src: Path, out: Path) -> None:
    frame = read_prompts(src).frame
    frame = dedup(frame).kept
    frame = cap(frame, 200).kept
    for name, part in split(frame).items():
        write_frame(part, out / f"{name}.parquet")


def measure_pure_python(src: Path, out: Path) -> None:
    """The contract in plain Python: dicts and lists, pyarrow only for file I/O."""
    rows = pq.read_table(src).to_pylist()
    never = datetime.max.replace(tzinfo=timezone.utc)
    best: dict[str, tuple] = {}
    for index, row in enumerate(rows):
        key = " ".join(unicodedata.normalize("NFKC", row["prompt"]).lower().split())[:100]
        rank = (row["created_at"] or never, index)
        if key not in best or rank < best[key]:
            best[key] = rank
    keep = {rank[1] for rank in best.values()}
    rows = [row for index, row in enumerate(rows) if index in keep]
    by_user: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        by_user.setdefault(row["user_id"], []).append(index)
    rng = random.Random(0)
    keep = set()
    for indices in by_user.values():
        keep.update(indices if len(indices) <= 200 else rng.sample(indices, 200))
    rows = [row for index, row in enumerate(rows) if index in keep]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["user_id"]] = counts.get(row["user_id"], 0) + 1
    users = sorted(counts)
    rng.shuffle(users)
    ratios = (0.8, 0.1, 0.1)
    deficit = [r * len(rows) for r in ratios]
    assigned = {}
    for user in users:
        target = max(range(3), key=lambda s: deficit[s])
        assigned[user] = target
        deficit[target] -= counts[user]
    for split_index, name in enumerate(("train", "validation", "test")):
        part = [row for row in rows if assigned[row["user_id"]] == split_index]
        pq.write_table(pa.Table.from_pylist(part), out / f"{name}.parquet", compression="zstd")


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM; ru_maxrss would include the parent's before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


PARTS = {"baseline": measure_baseline, "curate": measure_curate, "pure_python": measure_pure_python}


def run_part(part: str, src: Path, workdir: Path) -> dict:
    """Run one part in a fresh interpreter; returns seconds and peak RSS (MiB)."""
    out = workdir / part
    out.mkdir(exist_ok=True)
    done = subprocess.run(
        [sys.executable, __file__, "--part", part, "--src", str(src), "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--skip-pure-python", action="store_true", help="Skip the (slow) pure-Python run."
    )
    parser.add_argument("--part", choices=sorted(PARTS), help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        started = time.perf_counter()
        PARTS[args.part](Path(args.src), Path(args.out))
        seconds = time.perf_counter() - started
        rss_mib = peak_rss_mib()
        print(json.dumps({"seconds": seconds, "rss_mib": rss_mib}))
        return
    with tempfile.TemporaryDirectory(prefix="bench_core_") as tmp:
        workdir = Path(tmp)
        src = workdir / "input.parquet"
        t0 = time.perf_counter()
        generate(args.rows, args.seed, src)
        print(
            f"generated {args.rows:,} rows in {time.perf_counter() - t0:.1f}s ({src.stat().st_size / 2**20:.0f} MiB parquet)"
        )
        results = {
            part: run_part(part, src, workdir)
            for part in PARTS
            if not (part == "pure_python" and args.skip_pure_python)
        }
    for part, result in results.items():
        print(f"{part:12s} {result['seconds']:8.2f} s   peak RSS {result['rss_mib']:8.0f} MiB")
    ratio = results["curate"]["seconds"] / results["baseline"]["seconds"]
    print(f"(a) curate / (polars read_parquet + write_parquet) = {ratio:.2f}   target <= 2.0")
    if "pure_python" in results:
        speedup = results["pure_python"]["seconds"] / results["curate"]["seconds"]
        print(f"(b) speed-up over pure Python = {speedup:.1f}x   target >= 10x")
    print(
        f"(c) peak RSS: curate {results['curate']['rss_mib']:.0f} MiB, baseline {results['baseline']['rss_mib']:.0f} MiB"
    )


if __name__ == "__main__":
    main()
