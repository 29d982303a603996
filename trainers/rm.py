"""Stage 2 — reward model on K-way rankings (a ``ranking`` dataset; ``pairs`` works as K = 2).

InstructGPT's trick: the K completions of a prompt are flattened into one padded batch, so each
completion gets ONE forward pass and all C(K,2) comparisons reuse those K scores, instead of
2·C(K,2) passes when every pair is expanded. Loss per group: −1/C(K,2) · Σ log σ(r_w − r_l) over
its ordered pairs (tied pairs skipped, dividing by the pairs that remain), averaged over the
groups of the global batch. K may differ between groups of one batch.

After training, the scalar head's bias is shifted so that the demonstrations (``--demos``, an
``sft`` dataset) score 0 on average, as in the paper.

    python -m trainers.rm --data built/ranking --init ckpt/sft --demos built/sft --out ckpt/rm
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F

from . import checkpoint as ckpt
from .cli_args import parse_config
from .common import (
    Logger,
    TrainArgs,
    autocast,
    cosine_lr,
    fmt,
    opt,
    progress,
    req,
    seed_everything,
    set_lr,
    unwrap,
)
from .data import (
    collate_ranking,
    has_split,
    load_split,
    require_kind,
    shard_indices,
    tokenize_ranking,
    tokenize_sft,
)
from .dist import DistInfo, all_reduce_sum, setup, teardown
from .loop import load_for_run, prepare_run
from .model import GPT
from .tokenizer import ByteTokenizer


@dataclass(kw_only=True)
class RMArgs(TrainArgs):
    data: str = req("a ranking (or pairs) dataset folder")
    init: str | None = opt(None, "SFT checkpoint to start from (default: a fresh --preset model)")
    demos: str | None = opt(
        None, "sft dataset whose demonstrations should score mean 0 after training"
    )
    demo_max: int = opt(2000, "demonstrations used to set the bias")
    pairwise: bool = opt(
        False,
        "baseline: forward both completions of every pair (2·C(K,2) passes per group, same loss)",
    )
    lr: float = opt(1e-4, "peak learning rate")
    micro_batch: int = opt(8, "prompts (groups of K completions) per forward pass per process")


def sequence_scores(
    model, x: torch.Tensor, last: torch.Tensor, device: torch.device
) -> torch.Tensor:
    """Reward of each right-padded sequence: the scalar head at its final token."""
    with autocast(device):
        _, s = model(x, lm=False)
    return s.float().gather(1, last[:, None]).squeeze(1)


def group_scores(model, batch: dict[str, torch.Tensor], device: torch.device, pairwise: bool):
    """(r_w, r_l) for every ordered pair of the batch.

    K-way: one pass over the K flattened completions, pairs index into those scores.
    Pairwise (baseline): the winner and loser of every pair are forwarded as rows of their own.
    """
    x = batch["input_ids"].to(device, non_blocking=True)
    last = batch["last"].to(device, non_blocking=True)
    win, lose = batch["win"].to(device), batch["lose"].to(device)
    if not pairwise:
        r = sequence_scores(model, x, last, device)
        return r[win], r[lose]
    xs = torch.cat([x[win], x[lose]])
    ls = torch.cat([last[win], last[lose]])
    r = sequence_scores(model, xs, ls, device)
    return r[: len(win)], r[len(win) :]


def ranking_loss_sum(rw: torch.Tensor, rl: torch.Tensor, pair_w: torch.Tensor) -> torch.Tensor:
    """Σ over groups of −mean_pairs log σ(r_w − r_l) (``pair_w`` = 1/pairs-in-group)."""
    return -(pair_w * F.logsigmoid(rw - rl)).sum()


@torch.no_grad()
def evaluate_rm(
    model: GPT, examples: list, tok: ByteTokenizer, info: DistInfo, batch: int
) -> dict[str, float]:
    """Validation loss (per group) and pairwise accuracy (ties excluded), summed over ranks."""
    was = model.training
    model.eval()
    tot = torch.zeros(4, dtype=torch.float64, device=info.device)  # loss, groups, correct, pairs
    for idx in shard_indices(len(examples), info.rank, info.world_size, batch):
        b = collate_ranking([examples[i] for i in idx], tok.pad_id)
        rw, rl = group_scores(model, b, info.device, pairwise=False)
        tot[0] += ranking_loss_sum(rw, rl, b["pair_w"].to(info.device)).double()
        tot[1] += int(b["n_groups"])
        tot[2] += (rw > rl).sum().double()
        tot[3] += len(rw)
    all_reduce_sum(tot, info)
    model.train(was)
    return {
        "loss": float(tot[0] / tot[1].clamp(min=1)),
        "accuracy": float(tot[2] / tot[3].clamp(min=1)),
    }


@torch.no_grad()
def demo_mean_score(
    model: GPT, demos: list, tok: ByteTokenizer, info: DistInfo, batch: int
) -> float:
    """Mean reward of demonstrations (prompt + completion), over all ranks."""
    was = model.training
    model.eval()
    tot = torch.zeros(2, dtype=torch.float64, device=info.device)
    for idx in shard_indices(len(demos), info.rank, info.world_size, batch):
        seqs = [demos[i].ids for i in idx]
        t = max(len(s) for s in seqs)
        x = torch.full((len(seqs), t), tok.pad_id, dtype=torch.long)
        for i, s in enumerate(seqs):
            x[i, : len(s)] = torch.from_numpy(s).long()
        last = torch.tensor([len(s) - 1 for s in seqs])
        r = sequence_scores(model, x.to(info.device), last.to(info.device), info.device)
        tot[0] += r.double().sum()
        tot[1] += len(seqs)
    all_reduce_sum(tot, info)
    model.train(was)
    return float(tot[0] / tot[1].clamp(min=1))


def train_rm(args: RMArgs) -> dict[str, Any]:
    """Train the reward model; returns loss/accuracy history, validation accuracy and timing."""
    info = setup(args.device)
    try:
        return _train(args, info)
    finally:
        teardown()


def _train(args: RMArgs, info: DistInfo) -> dict[str, Any]:
    seed_everything(args.seed)
    model, tok, state = load_for_run(args, info, scalar_head=True)
    bs = model.config.block_size
    train_ds = load_split(args.data, "train")
    require_kind(train_ds, ["ranking", "pairs"], "--data")
    train = tokenize_ranking(train_ds, tok, bs)
    val = []
    if has_split(args.data, "validation"):
        vds = load_split(args.data, "validation")
        if args.eval_max:
            vds = vds.select(range(min(args.eval_max, len(vds))))
        val = tokenize_ranking(vds, tok, bs)
    run = prepare_run(model, train, partial(collate_ranking, pad_id=tok.pad_id), args, info, state)
    plan, total, start, optim, ddp, batches = (
        run.plan,
        run.total,
        run.start,
        run.optimizer,
        run.ddp,
        run.batches,
    )
    logger = Logger(info, args.out, quiet=args.quiet)
    mode = "pairwise" if args.pairwise else "k-way"
    logger.log(
        {
            "event": "start",
            "params": unwrap(model).num_params(),
            "groups": len(train),
            "steps": total,
            "mode": mode,
        },
        f"rm ({mode}): {len(train)} groups, {total} steps, global batch {plan.global_batch} groups",
    )
    bar = progress(total - start, f"rm {mode}", args.progress and info.is_main)
    hist: dict[str, Any] = {"step": [], "loss": [], "accuracy": [], "val": []}
    t_start = time.perf_counter()
    wait_s = 0.0
    model.train()
    end = min(total, args.stop_after) if args.stop_after else total
    for step in range(start, end):
        t0 = time.perf_counter()
        micro = [next(batches) for _ in range(args.grad_accum)]
        wait_s += time.perf_counter() - t0
        n_groups = all_reduce_sum(
            torch.tensor(
                float(sum(int(b["n_groups"]) for b in micro)),
                dtype=torch.float64,
                device=info.device,
            ),
            info,
        ).item()
        n_groups = max(n_groups, 1.0)
        lr = cosine_lr(step, total, args.lr, args.warmup, args.min_lr_ratio)
        set_lr(optim, lr)
        tot = torch.zeros(3, dtype=torch.float64, device=info.device)  # loss, correct, pairs
        for i, b in enumerate(micro):
            last = i == len(micro) - 1
            sync = ddp.no_sync() if (info.enabled and not last) else _null()
            with sync:
                rw, rl = group_scores(ddp, b, info.device, args.pairwise)
                loss = ranking_loss_sum(rw, rl, b["pair_w"].to(info.device))
                (loss * (info.world_size / n_groups)).backward()
            tot += torch.stack(
                [
                    loss.detach().double(),
                    (rw > rl).sum().double(),
                    torch.tensor(float(len(rw)), dtype=torch.float64, device=info.device),
                ]
            )
        if args.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        optim.step()
        optim.zero_grad(set_to_none=True)
        all_reduce_sum(tot, info)
        rec = {
            "step": step + 1,
            "loss": tot[0].item() / n_groups,
            "acc": tot[1].item() / max(tot[2].item(), 1),
            "lr": lr,
            "step_s": time.perf_counter() - t0,
        }
        hist["step"].append(step + 1)
        hist["loss"].append(rec["loss"])
        hist["accuracy"].append(rec["acc"])
        show = (step + 1) % max(1, args.log_every) == 0 or step + 1 == total
        logger.log(rec, f"rm {fmt(rec, ['step', 'loss', 'acc', 'lr', 'step_s'])}" if show else None)
        bar.update(1)
        bar.set_postfix_str(f"loss {rec['loss']:.4f} acc {rec['acc']:.2f}")
        done = step + 1 == end
        if val and ((args.eval_every and (step + 1) % args.eval_every == 0) or done):
            ev = evaluate_rm(model, val, tok, info, args.micro_batch)
            hist["val"].append((step + 1, ev["loss"], ev["accuracy"]))
            logger.log(
                {"step": step + 1, "val_loss": ev["loss"], "val_accuracy": ev["accuracy"]},
                f"rm eval | step {step + 1} | val_loss {ev['loss']:.4f} | val_pairwise_acc {ev['accuracy']:.3f}",
            )
        if (
            args.out
            and info.is_main
            and args.save_every
            and (step + 1) % args.save_every == 0
            and not done
        ):
            _save(args, model, tok, optim, step + 1, None)
    bar.close()
    hist["train_time_s"] = time.perf_counter() - t_start
    hist["data_wait_frac"] = wait_s / hist["train_time_s"] if hist["train_time_s"] else float("nan")
    hist["final_val_accuracy"] = hist["val"][-1][2] if hist["val"] else None
    hist["final_val_loss"] = hist["val"][-1][1] if hist["val"] else None
    bias_shift = None
    if args.demos:
        demos_ds = load_split(args.demos, "train")
        require_kind(demos_ds, ["sft"], "--demos")
        demos_ds = demos_ds.select(range(min(args.demo_max, len(demos_ds))))
        demos = tokenize_sft(demos_ds, tok, bs)
        before = demo_mean_score(model, demos, tok, info, args.micro_batch * 4)
        with torch.no_grad():
            unwrap(model).scalar_head.bias -= before
        bias_shift = -before
        hist["demo_mean_before"] = before
        hist["demo_mean_after"] = demo_mean_score(model, demos, tok, info, args.micro_batch * 4)
        logger.log(
            {
                "event": "normalise",
                "demo_mean_before": before,
                "demo_mean_after": hist["demo_mean_after"],
            },
            f"rm: demonstrations scored mean {before:.4f}; bias shifted so they now score "
            f"{hist['demo_mean_after']:.2e}",
        )
    if args.out and info.is_main:
        _save(args, model, tok, optim, end, bias_shift)
    logger.close()
    return hist


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _save(
    args: RMArgs, model, tok: ByteTokenizer, optim, step: int, bias_shift: float | None
) -> None:
    state = {"optimizer": optim.state_dict(), "step": step, "rng": ckpt.rng_state()}
    extra = {"step": step, "data": str(args.data), "demos": args.demos, "bias_shift": bias_shift}
    ckpt.save_checkpoint(args.out, unwrap(model), tok, "rm", extra, state)


def main(argv: list[str] | None = None, prog: str = "python -m trainers.rm") -> dict[str, Any]:
    """Command-line entry point (also what ``curate train rm`` and torchrun call)."""
    args = parse_config(RMArgs, argv, prog, (__doc__ or "").strip())
    return train_rm(args)


if __name__ == "__main__":
    main()
