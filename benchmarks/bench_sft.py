"""SFT throughput: tokens/s and the share of step time spent waiting on data (target < 5%).

Data wait = time blocked fetching the step's micro-batches from the DataLoader (workers collate
ahead); step time = the whole optimizer step. The first step (worker start-up) is not counted.

    python benchmarks/bench_sft.py --preset micro --steps 40 --micro-batch 16 --num-workers 1
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainers import synthetic  # noqa: E402
from trainers.sft import SFTArgs, train_sft  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data", default=None, help="an sft dataset folder (default: the generated sample)"
    )
    p.add_argument(
        "--examples", type=int, default=2048, help="generated examples when --data is absent"
    )
    p.add_argument("--preset", default="micro")
    p.add_argument("--block-size", type=int, default=None)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--micro-batch", type=int, default=16)
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--num-workers", type=int, nargs="+", default=[0, 1], help="one run per value")
    p.add_argument("--device", default=None)
    args = p.parse_args(argv)
    worst = 0.0
    with tempfile.TemporaryDirectory() as d:
        data = args.data or str(
            synthetic.sample_sft(Path(d) / "sft", n_train=args.examples, n_val=8)
        )
        for w in args.num_workers:
            h = train_sft(
                SFTArgs(
                    data=data,
                    preset=args.preset,
                    block_size=args.block_size,
                    max_steps=args.steps,
                    micro_batch=args.micro_batch,
                    grad_accum=args.grad_accum,
                    num_workers=w,
                    samples=0,
                    progress=False,
                    quiet=True,
                    device=args.device,
                )
            )
            worst = max(worst, h["data_wait_frac"]) if w > 0 else worst
            print(
                f"num_workers={w}: {h['tokens_per_s']:,.0f} tokens/s | data wait {100 * h['data_wait_frac']:.2f}% "
                f"of step time (target < 5%) | final loss {h['loss'][-1]:.4f}",
                flush=True,
            )
    return 0 if worst < 0.05 else 1


if __name__ == "__main__":
    raise SystemExit(main())
