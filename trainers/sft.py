"""Stage 1 — supervised fine-tuning on demonstrations (an ``sft`` dataset).

Next-token loss on completion tokens only; the loss of an optimizer step is the sum over all its
completion tokens (every micro-batch, every rank) divided by their total count, so gradient
accumulation and the process count do not change what is optimised.

    python -m trainers.sft --data built/sft --out ckpt/sft --preset micro --max-steps 500
    torchrun --standalone --nproc_per_node 2 -m trainers.sft --data built/sft --out ckpt/sft
"""

from __future__ import annotations

import contextlib
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
    StepPlan,
    collate_sft,
    has_split,
    load_split,
    require_kind,
    shard_indices,
    tokenize_sft,
)
from .dist import DistInfo, all_reduce_sum, setup, teardown
from .loop import load_for_run, prepare_run
from .model import GPT
from .tokenizer import ByteTokenizer


@dataclass(kw_only=True)
class SFTArgs(TrainArgs):
    data: str = req("an sft dataset folder (DatasetDict saved with save_to_disk)")
    init: str | None = opt(None, "start from this checkpoint instead of a fresh --preset model")
    samples: int = opt(2, "validation prompts to generate from at each evaluation (0 = none)")
    sample_tokens: int = opt(64, "max new tokens per sample generation")


def sft_loss_sum(model, batch: dict[str, torch.Tensor], device: torch.device) -> torch.Tensor:
    """Summed cross-entropy over completion targets (labels == -100 are ignored)."""
    x = batch["input_ids"].to(device, non_blocking=True)
    y = batch["labels"].to(device, non_blocking=True)
    with autocast(device):
        logits, _ = model(x)
    return F.cross_entropy(
        logits.float().view(-1, logits.shape[-1]), y.view(-1), ignore_index=-100, reduction="sum"
    )


@torch.no_grad()
def evaluate_lm(
    model: GPT, examples: list, tok: ByteTokenizer, info: DistInfo, batch: int
) -> float:
    """Mean per-token completion loss over ``examples`` (sharded over ranks, then summed)."""
    was = model.training
    model.eval()
    tot = torch.zeros(2, dtype=torch.float64, device=info.device)
    for idx in shard_indices(len(examples), info.rank, info.world_size, batch):
        b = collate_sft([examples[i] for i in idx], tok.pad_id)
        tot[0] += sft_loss_sum(model, b, info.device).double()
        tot[1] += b["n_tokens"].item()
    all_reduce_sum(tot, info)
    model.train(was)
    return float(tot[0] / tot[1].clamp(min=1))


@torch.no_grad()
def sample_text(
    model: GPT, tok: ByteTokenizer, prompts: list[str], max_new: int, seed: int, device
) -> list[dict[str, str]]:
    """Greedy completions of a few prompts, for the log (a quick look at what is being learnt)."""
    was = model.training
    model.eval()
    out = []
    banned = banned_ids(tok, model.config.vocab_size)
    for p in prompts:
        ids = tok.encode_prompt(p, max_len=model.config.block_size // 2)
        x = torch.tensor([ids], device=device)
        new, mask = model.generate(
            x, max_new, temperature=0.0, eos_id=tok.eos_id, pad_id=tok.pad_id, banned_ids=banned
        )
        out.append({"prompt": p, "completion": tok.decode(new[0][mask[0].bool()].tolist())})
    model.train(was)
    return out


def banned_ids(tok: ByteTokenizer, vocab_size: int) -> tuple[int, ...]:
    """Ids a response may never contain: prompt/response markers, pad, unused vocab padding."""
    extra = range(tok.vocab_size, vocab_size)
    return (tok.prompt_id, tok.response_id, tok.pad_id, *extra)


def train_sft(args: SFTArgs) -> dict[str, Any]:
    """Run SFT; returns the metric history (per-step loss, validation loss, speed, samples)."""
    info = setup(args.device)
    try:
        return _train(args, info)
    finally:
        teardown()


def _train(args: SFTArgs, info: DistInfo) -> dict[str, Any]:
    seed_everything(args.seed)
    model, tok, state = load_for_run(args, info, scalar_head=False)
    bs = model.config.block_size
    train_ds = load_split(args.data, "train")
    require_kind(train_ds, ["sft"], "--data")
    train = tokenize_sft(train_ds, tok, bs + 1)  # +1: inputs and targets are shifted by one
    val = []
    if has_split(args.data, "validation"):
        vds = load_split(args.data, "validation")
        if args.eval_max:
            vds = vds.select(range(min(args.eval_max, len(vds))))
        val = tokenize_sft(vds, tok, bs + 1)
        val_prompts = list(vds["prompt"][: args.samples])
    else:
        val_prompts = list(train_ds["prompt"][: args.samples])

    run = prepare_run(model, train, partial(collate_sft, pad_id=tok.pad_id), args, info, state)
    plan, total, start, optim, ddp, batches = (
        run.plan,
        run.total,
        run.start,
        run.optimizer,
        run.ddp,
        run.batches,
    )
    logger = Logger(info, args.out, quiet=args.quiet)
    bar = progress(
        min(total, args.stop_after or total) - start, "sft", args.progress and info.is_main
    )
    hist: dict[str, Any] = {"step": [], "loss": [], "lr": [], "val": [], "samples": []}
    n_params = unwrap(model).num_params()
    logger.log(
        {
            "event": "start",
            "params": n_params,
            "train_examples": len(train),
            "steps": total,
            "global_batch": plan.global_batch,
            "world_size": info.world_size,
        },
        f"sft: {n_params / 1e6:.2f}M params, {len(train)} examples, {total} steps, "
        f"global batch {plan.global_batch}, {info.world_size} process(es)",
    )
    wait_s = step_s = 0.0
    tokens_seen = 0
    model.train()
    end = min(total, args.stop_after) if args.stop_after else total
    for step in range(start, end):
        t0 = time.perf_counter()
        micro = [next(batches) for _ in range(args.grad_accum)]
        t_data = time.perf_counter() - t0
        counts = torch.tensor(
            [
                float(sum(int(b["n_tokens"]) for b in micro)),
                float(sum(b["input_ids"].numel() for b in micro)),
            ],
            dtype=torch.float64,
            device=info.device,
        )
        all_reduce_sum(counts, info)
        n_tok = max(counts[0].item(), 1.0)
        lr = cosine_lr(step, total, args.lr, args.warmup, args.min_lr_ratio)
        set_lr(optim, lr)
        loss_sum = torch.zeros((), dtype=torch.float64, device=info.device)
        for i, b in enumerate(micro):
            last = i == len(micro) - 1
            sync = contextlib.nullcontext() if (last or not info.enabled) else ddp.no_sync()
            with sync:
                loss = sft_loss_sum(ddp, b, info.device)
                # DDP averages gradients over ranks; scale so the result is sum / global tokens
                (loss * (info.world_size / n_tok)).backward()
            loss_sum += loss.detach().double()
        gnorm = (
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip).item()
            if args.grad_clip > 0
            else float("nan")
        )
        optim.step()
        optim.zero_grad(set_to_none=True)
        step_loss = all_reduce_sum(loss_sum, info).item() / n_tok
        dt = time.perf_counter() - t0
        if step > start:  # the first step carries worker start-up and warm-up costs
            wait_s += t_data
            step_s += dt
            tokens_seen += int(counts[1].item())
        rec = {
            "step": step + 1,
            "loss": step_loss,
            "lr": lr,
            "grad_norm": gnorm,
            "tok_s": counts[1].item() / dt,
            "data_wait": t_data / dt,
        }
        hist["step"].append(step + 1)
        hist["loss"].append(step_loss)
        hist["lr"].append(lr)
        show = (step + 1) % max(1, args.log_every) == 0 or step + 1 == total
        logger.log(
            rec,
            f"sft {fmt(rec, ['step', 'loss', 'lr', 'grad_norm', 'tok_s', 'data_wait'])}"
            if show
            else None,
        )
        bar.update(1)
        bar.set_postfix_str(f"loss {step_loss:.4f}")
        done = step + 1 == end
        if val and ((args.eval_every and (step + 1) % args.eval_every == 0) or done):
            vloss = evaluate_lm(model, val, tok, info, args.micro_batch)
            hist["val"].append((step + 1, vloss))
            samples = (
                sample_text(model, tok, val_prompts, args.sample_tokens, args.seed, info.device)
                if info.is_main and args.samples
                else []
            )
            hist["samples"] = samples
            logger.log(
                {"step": step + 1, "val_loss": vloss, "samples": samples},
                f"sft eval | step {step + 1} | val_loss {vloss:.4f}"
                + "".join(
                    f"\n  > {s['prompt'][:60]!r} -> {s['completion'][:120]!r}" for s in samples
                ),
            )
        if (
            args.out
            and info.is_main
            and ((args.save_every and (step + 1) % args.save_every == 0) or done)
        ):
            _save(args, model, tok, optim, step + 1, plan)
    bar.close()
    logger.close()
    hist["tokens_per_s"] = tokens_seen / step_s if step_s else float("nan")
    hist["data_wait_frac"] = wait_s / step_s if step_s else float("nan")
    hist["final_val_loss"] = hist["val"][-1][1] if hist["val"] else None
    return hist


def _save(args: SFTArgs, model: GPT, tok: ByteTokenizer, optim, step: int, plan: StepPlan) -> None:
    state = {"optimizer": optim.state_dict(), "step": step, "rng": ckpt.rng_state()}
    extra = {
        "step": step,
        "data": str(args.data),
        "global_batch": plan.global_batch,
        "seed": args.seed,
    }
    ckpt.save_checkpoint(args.out, unwrap(model), tok, "sft", extra, state)


def main(argv: list[str] | None = None, prog: str = "python -m trainers.sft") -> dict[str, Any]:
    """Command-line entry point (also what ``curate train sft`` and torchrun call)."""
    args = parse_config(SFTArgs, argv, prog, (__doc__ or "").strip())
    return train_sft(args)


if __name__ == "__main__":
    main()
