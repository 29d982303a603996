"""K-way reward-model batching vs pairwise expansion, same data, same model, same run.

K-way: each prompt's K completions are one padded batch (K forward passes per group).
Pairwise: every one of the C(K,2) ordered pairs forwards its winner and loser itself
(2·C(K,2) passes per group). The loss is the same function, so final losses must agree; the
expected speed-up is (K−1) and the target is ≥ 0.8·(K−1).

    python benchmarks/bench_rm.py --k 4 9 --groups 128 --preset micro
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainers import synthetic  # noqa: E402
from trainers.rm import RMArgs, train_rm  # noqa: E402


def run(k: int, args: argparse.Namespace, root: Path) -> dict:
    data = synthetic.vowel_ranking(
        root / f"rank{k}", k=k, n_train=args.groups, n_val=8, length=args.length
    )
    common = dict(
        data=str(data),
        preset=args.preset,
        epochs=1.0,
        micro_batch=args.micro_batch,
        lr=1e-4,
        warmup=2,
        num_workers=0,
        progress=False,
        quiet=True,
        seed=0,
        device=args.device,
    )
    if args.warmup_steps:  # one short untimed run so both timed runs start warm
        train_rm(RMArgs(**{**common, "max_steps": args.warmup_steps}))
    kway = train_rm(RMArgs(**common))
    pair = train_rm(RMArgs(**common, pairwise=True))
    speedup = pair["train_time_s"] / kway["train_time_s"]
    diff = max(abs(a - b) for a, b in zip(kway["loss"], pair["loss"], strict=True))
    target = 0.8 * (k - 1)
    print(
        f"K={k}: {len(kway['loss'])} steps of {args.micro_batch} groups | k-way {kway['train_time_s']:.2f}s "
        f"| pairwise {pair['train_time_s']:.2f}s | speed-up {speedup:.2f}x (target >= {target:.1f}x: "
        f"{'PASS' if speedup >= target else 'FAIL'}) | final loss k-way {kway['loss'][-1]:.6f} "
        f"pairwise {pair['loss'][-1]:.6f} (max |diff| over steps {diff:.2e}) | val acc "
        f"{kway['final_val_accuracy']:.3f} / {pair['final_val_accuracy']:.3f}",
        flush=True,
    )
    return {
        "k": k,
        "speedup": speedup,
        "target": target,
        "loss_kway": kway["loss"][-1],
        "loss_pairwise": pair["loss"][-1],
        "max_diff": diff,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--k", type=int, nargs="+", default=[4, 9], help="completions per prompt")
    p.add_argument("--groups", type=int, default=128, help="training prompts (one epoch)")
    p.add_argument("--micro-batch", type=int, default=8, help="groups per step")
    p.add_argument("--length", type=int, default=48, help="characters per completion")
    p.add_argument("--preset", default="micro", help="model preset")
    p.add_argument("--device", default=None, help="cpu or cuda")
    p.add_argument("--warmup-steps", type=int, default=2, help="untimed warm-up steps")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        results = [run(k, args, Path(d)) for k in args.k]
    ok = all(r["speedup"] >= r["target"] and r["max_diff"] < 1e-3 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
