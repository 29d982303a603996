"""torchrun with 2 processes (gloo, CPU) follows the 1-process loss trajectory for one global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("datasets")

from trainers import synthetic  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# fp32 on CPU; the two runs differ only in summation order (per-rank padding, gloo all-reduce)
TOLERANCE = 1e-4  # absolute, per-step loss (losses are ~2-5 nats)


def _losses(out: Path) -> list[float]:
    rows = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed missing")
def test_torchrun_two_processes_match_one(tmp_path):
    synthetic.sample_sft(tmp_path / "sft", n_train=96, n_val=16)
    args = [
        "--data",
        str(tmp_path / "sft"),
        "--preset",
        "nano",
        "--block-size",
        "48",
        "--max-steps",
        "6",
        "--lr",
        "3e-3",
        "--warmup",
        "2",
        "--samples",
        "0",
        "--num-workers",
        "0",
        "--no-progress",
        "--device",
        "cpu",
        "--seed",
        "3",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    one = subprocess.run(
        [
            sys.executable,
            "-m",
            "trainers.sft",
            *args,
            "--micro-batch",
            "8",
            "--out",
            str(tmp_path / "one"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert one.returncode == 0, one.stderr
    two = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "trainers.sft",
            *args,
            "--micro-batch",
            "4",
            "--out",
            str(tmp_path / "two"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert len(a) == len(b) == 6
    assert b == pytest.approx(a, abs=TOLERANCE), (a, b)
    assert "2 process(es)" in two.stderr  # only rank 0 logs: one start line
    assert two.stderr.count("sft: ") == 1
