"""Stage 3 — PPO (optionally PPO-ptx) against the reward model.

Each step: sample responses from the policy for a batch of prompts; reward = RM score at the last
token, minus β·(log π − log π_SFT) at every response token (a frozen copy of the SFT policy is the
reference); advantages by GAE from a value model initialised from the RM; then clipped policy
and value losses over a few epochs of minibatches. With ``--ptx-data`` the language-model loss on
that ``sft`` dataset, times ``--ptx-coef``, is added to the policy loss of the same gradient step.
Dropout is off throughout (all models run in eval mode), so the sampling policy and the
optimised policy are the same function.

    python -m trainers.ppo --prompts built/ppo --policy ckpt/sft --reward ckpt/rm --out ckpt/ppo
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP

from . import checkpoint as ckpt
from .cli_args import parse_config
from .common import (
    Logger,
    TrainArgs,
    autocast,
    fmt,
    make_optimizer,
    opt,
    progress,
    req,
    seed_everything,
    unwrap,
)
from .data import (
    StepPlan,
    collate_prompts,
    collate_sft,
    has_split,
    load_split,
    make_loader,
    require_kind,
    tokenize_prompts,
    tokenize_sft,
)
from .dist import DistInfo, all_reduce_sum, setup, teardown
from .model import GPT, restrict_logits
from .sft import banned_ids, sft_loss_sum


@dataclass(kw_only=True)
class PPOArgs(TrainArgs):
    prompts: str = req("a ppo dataset folder (prompts to roll out on)")
    policy: str = req("SFT checkpoint: initial policy and frozen KL reference")
    reward: str = req("reward-model checkpoint (frozen; also initialises the value model)")
    ptx_data: str | None = opt(None, "sft dataset for the PPO-ptx language-model loss")
    ptx_coef: float = opt(1.0, "weight γ of the ptx loss (the paper uses 27.8 at its scale)")
    ptx_batch: int = opt(8, "sft examples per ptx micro-batch per process")
    kl_coef: float = opt(0.02, "β: per-token KL penalty against the SFT policy")
    rollout_batch: int = opt(16, "prompts rolled out per step per process")
    ppo_epochs: int = opt(2, "optimisation passes over each rollout batch")
    minibatches: int = opt(2, "minibatches per PPO epoch")
    max_new_tokens: int = opt(32, "response length limit")
    temperature: float = opt(1.0, "sampling temperature for rollouts")
    clip: float = opt(0.2, "policy ratio clip ε")
    value_clip: float = opt(0.2, "value clip range")
    gamma: float = opt(1.0, "discount")
    lam: float = opt(0.95, "GAE λ")
    value_lr: float | None = opt(None, "value-model learning rate (default: --lr)")
    lr: float = opt(1e-5, "policy learning rate")
    warmup: int = opt(0, "linear warm-up steps")
    max_steps: int | None = opt(
        None, "PPO steps (rollout + update); default: --epochs over the prompts"
    )
    eval_prompts: int = opt(64, "validation prompts scored before and after training (0 = none)")
    micro_batch: int = opt(8, "unused by PPO (see --rollout-batch)")


@dataclass
class Rollout:
    seq: torch.Tensor  # (B, Tp+N) prompt (left-padded) + response (right-padded)
    mask: torch.Tensor  # (B, Tp+N) 1 = real token
    n_prompt: int  # Tp: response starts here
    resp_mask: torch.Tensor  # (B, N) float
    logp: torch.Tensor  # (B, N) log π_old of the sampled tokens
    ref_logp: torch.Tensor
    values: torch.Tensor
    score: torch.Tensor  # (B,) RM score at the last token
    adv: torch.Tensor | None = None
    ret: torch.Tensor | None = None


def response_logprobs(
    model,
    seq: torch.Tensor,
    mask: torch.Tensor,
    tp: int,
    banned: tuple[int, ...],
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-prob and entropy of each response token under ``model`` (logits at t-1 predict t)."""
    with autocast(device):
        logits, _ = model(seq, mask)
    lg = restrict_logits(logits[:, tp - 1 : -1].float(), banned)
    logp_all = F.log_softmax(lg, -1)
    tokens = seq[:, tp:]
    real = mask[:, tp:].bool()  # padding after EOS is a banned id: keep its -inf out of sums
    logp = torch.where(real, logp_all.gather(-1, tokens[..., None]).squeeze(-1), 0.0)
    p = logp_all.exp()
    ent = -(p * logp_all.masked_fill(p == 0, 0.0)).sum(-1)
    return logp, ent


def scalars_at(model, seq: torch.Tensor, mask: torch.Tensor, device: torch.device) -> torch.Tensor:
    with autocast(device):
        _, s = model(seq, mask, lm=False)
    return s.float()


def last_index(mask: torch.Tensor) -> torch.Tensor:
    """Index of the final real token of each row (responses are right-padded)."""
    pos = torch.arange(mask.shape[1], device=mask.device)
    return (mask * pos).argmax(1)


@torch.no_grad()
def rollout(
    policy: GPT, ref: GPT, reward: GPT, value: GPT, batch, args: PPOArgs, tok, banned, gen, device
) -> Rollout:
    x = batch["input_ids"].to(device)
    m = batch["attention_mask"].to(device)
    new, new_mask = policy.generate(
        x,
        args.max_new_tokens,
        attention_mask=m,
        temperature=args.temperature,
        eos_id=tok.eos_id,
        pad_id=tok.pad_id,
        banned_ids=banned,
        generator=gen,
    )
    seq, mask, tp = torch.cat([x, new], 1), torch.cat([m, new_mask], 1), x.shape[1]
    logp, _ = response_logprobs(policy, seq, mask, tp, banned, device)
    ref_logp, _ = response_logprobs(ref, seq, mask, tp, banned, device)
    values = scalars_at(value, seq, mask, device)[:, tp - 1 : -1]
    score = scalars_at(reward, seq, mask, device).gather(1, last_index(mask)[:, None]).squeeze(1)
    return Rollout(seq, mask, tp, new_mask.float(), logp, ref_logp, values, score)


def gae(
    ro: Rollout, kl_coef: float, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-token rewards (−β·KL, + score at the last token), advantages and returns."""
    m = ro.resp_mask
    kl = (ro.logp - ro.ref_logp) * m
    rewards = -kl_coef * kl
    last = (m.sum(1).long() - 1).clamp(min=0)
    rewards[torch.arange(len(last)), last] += ro.score
    v = ro.values * m
    n = m.shape[1]
    adv = torch.zeros_like(v)
    running = torch.zeros(v.shape[0], device=v.device)
    for t in reversed(range(n)):
        next_v = v[:, t + 1] if t + 1 < n else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_v - v[:, t]
        running = (delta + gamma * lam * running) * m[:, t]
        adv[:, t] = running
    ret = adv + v
    return adv, ret, kl


def masked_mean(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return (x * m).sum() / m.sum().clamp(min=1)


def whiten(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    mu = masked_mean(x, m)
    var = masked_mean((x - mu) ** 2, m)
    return (x - mu) * torch.rsqrt(var + 1e-8) * m


@torch.no_grad()
def evaluate_policy(
    policy, ref, reward, prompts, args: PPOArgs, tok, banned, info: DistInfo
) -> dict[str, float]:
    """Mean RM score and KL to the reference of sampled answers to fixed prompts (seeded)."""
    gen = torch.Generator(device=info.device).manual_seed(args.seed + 12345)
    tot = torch.zeros(3, dtype=torch.float64, device=info.device)
    mine = prompts[info.rank :: info.world_size]
    for i in range(0, len(mine), args.rollout_batch):
        b = collate_prompts(mine[i : i + args.rollout_batch], tok.pad_id)
        x, m = b["input_ids"].to(info.device), b["attention_mask"].to(info.device)
        new, nm = policy.generate(
            x,
            args.max_new_tokens,
            attention_mask=m,
            temperature=args.temperature,
            eos_id=tok.eos_id,
            pad_id=tok.pad_id,
            banned_ids=banned,
            generator=gen,
        )
        seq, mask, tp = torch.cat([x, new], 1), torch.cat([m, nm], 1), x.shape[1]
        lp, _ = response_logprobs(policy, seq, mask, tp, banned, info.device)
        rlp, _ = response_logprobs(ref, seq, mask, tp, banned, info.device)
        score = (
            scalars_at(reward, seq, mask, info.device)
            .gather(1, last_index(mask)[:, None])
            .squeeze(1)
        )
        tot += torch.stack(
            [
                score.double().sum(),
                ((lp - rlp) * nm).sum().double(),
                torch.tensor(float(len(score)), dtype=torch.float64, device=info.device),
            ]
        )
    all_reduce_sum(tot, info)
    n = max(tot[2].item(), 1.0)
    return {"score": tot[0].item() / n, "kl": tot[1].item() / n}


def train_ppo(args: PPOArgs) -> dict[str, Any]:
    """Run PPO(-ptx); returns per-step reward/KL/entropy/clip-fraction and before/after scores."""
    info = setup(args.device)
    try:
        return _train(args, info)
    finally:
        teardown()


def _frozen(m: GPT) -> GPT:
    m.eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


def _train(args: PPOArgs, info: DistInfo) -> dict[str, Any]:
    seed_everything(args.seed)
    dev = info.device
    state = ckpt.load_trainer_state(args.out) if (args.resume and args.out) else None
    policy, tok, _ = ckpt.load_model_from(
        args.out if state else args.policy, scalar_head=False, device=dev
    )
    ref = _frozen(ckpt.load_model_from(args.policy, scalar_head=False, device=dev)[0])
    reward = _frozen(ckpt.load_model_from(args.reward, scalar_head=True, device=dev)[0])
    value = ckpt.load_model_from(
        f"{args.out}/value" if state else args.reward, scalar_head=True, device=dev
    )[0]
    for m in (policy, value):
        m.eval()  # dropout off: rollouts and updates use the same function
    banned = banned_ids(tok, policy.config.vocab_size)
    max_prompt = policy.config.block_size - args.max_new_tokens
    if max_prompt < 4:
        raise ValueError("--max-new-tokens leaves no room for the prompt in the block")

    train_ds = load_split(args.prompts, "train")
    require_kind(train_ds, ["ppo", "sft"], "--prompts")
    prompts = tokenize_prompts(train_ds, tok, max_prompt)
    eval_prompts = []
    if args.eval_prompts:
        eds = (
            load_split(args.prompts, "validation")
            if has_split(args.prompts, "validation")
            else train_ds
        )
        eval_prompts = tokenize_prompts(
            eds.select(range(min(args.eval_prompts, len(eds)))), tok, max_prompt
        )
    plan = StepPlan(len(prompts), args.rollout_batch, 1, info.world_size, info.rank, args.seed)
    total = args.max_steps or max(1, math.ceil(args.epochs * plan.steps_per_epoch))

    p_opt = make_optimizer(policy, args.lr, args.weight_decay, device=dev)
    v_opt = make_optimizer(value, args.value_lr or args.lr, args.weight_decay, device=dev)
    start = 0
    if state is not None:
        p_opt.load_state_dict(state["optimizer"])
        v_opt.load_state_dict(state["value_optimizer"])
        start = int(state["step"])
        ckpt.set_rng_state(state["rng"])
    policy_ddp = DDP(policy) if info.enabled else policy
    value_ddp = DDP(value) if info.enabled else value

    loader = iter(
        make_loader(
            prompts, plan.iter_micro(start, total), partial(collate_prompts, pad_id=tok.pad_id), 0
        )
    )
    ptx_iter = None
    if args.ptx_data:
        pds = load_split(args.ptx_data, "train")
        require_kind(pds, ["sft"], "--ptx-data")
        ptx = tokenize_sft(pds, tok, policy.config.block_size + 1)
        pplan = StepPlan(len(ptx), args.ptx_batch, 1, info.world_size, info.rank, args.seed + 1)
        ptx_steps = total * args.ppo_epochs * args.minibatches
        ptx_iter = iter(
            make_loader(
                ptx,
                plan_range(pplan, start * args.ppo_epochs * args.minibatches, ptx_steps),
                partial(collate_sft, pad_id=tok.pad_id),
                args.num_workers,
            )
        )
    gen = torch.Generator(device=dev).manual_seed(args.seed * 1000 + info.rank + start)
    logger = Logger(info, args.out, quiet=args.quiet)
    hist: dict[str, Any] = {
        k: []
        for k in (
            "step",
            "score",
            "kl",
            "entropy",
            "clip_frac",
            "value_loss",
            "ptx_loss",
            "resp_len",
        )
    }
    if eval_prompts:
        hist["eval_before"] = evaluate_policy(
            policy, ref, reward, eval_prompts, args, tok, banned, info
        )
        logger.log(
            {"event": "eval", "step": start, **hist["eval_before"]},
            f"ppo eval | step {start} | score {hist['eval_before']['score']:.4f} | kl {hist['eval_before']['kl']:.4f}",
        )
    end = min(total, args.stop_after) if args.stop_after else total
    bar = progress(end - start, "ppo", args.progress and info.is_main)
    for step in range(start, end):
        t0 = time.perf_counter()
        lr = args.lr * min(1.0, (step + 1) / args.warmup) if args.warmup else args.lr
        for g in p_opt.param_groups:
            g["lr"] = lr
        ro = rollout(policy, ref, reward, value, next(loader), args, tok, banned, gen, dev)
        adv, ret, kl = gae(ro, args.kl_coef, args.gamma, args.lam)
        m = ro.resp_mask
        adv = whiten(adv, m)
        stats = torch.zeros(5, dtype=torch.float64, device=dev)  # clip, vloss, ptx, entropy, n
        b = ro.seq.shape[0]
        for _ in range(args.ppo_epochs):
            order = (
                torch.randperm(b, generator=gen, device=dev)
                if b > 1
                else torch.zeros(1, dtype=torch.long, device=dev)
            )
            for mb in order.chunk(args.minibatches):
                seq, mask, mm = ro.seq[mb], ro.mask[mb], m[mb]
                logp, ent = response_logprobs(policy_ddp, seq, mask, ro.n_prompt, banned, dev)
                ratio = torch.exp(logp - ro.logp[mb])
                a = adv[mb]
                pg = torch.max(-a * ratio, -a * ratio.clamp(1 - args.clip, 1 + args.clip))
                pg_loss = masked_mean(pg, mm)
                clip_frac = masked_mean(((ratio - 1).abs() > args.clip).float(), mm)
                ptx_loss = torch.zeros((), device=dev)
                if ptx_iter is not None:
                    with policy_ddp.no_sync() if info.enabled else _Null():
                        pg_loss.backward()
                    pb = next(ptx_iter)
                    n_tok = all_reduce_sum(pb["n_tokens"].double().to(dev), info).clamp(min=1)
                    ptx_sum = sft_loss_sum(policy_ddp, pb, dev)
                    ptx_loss = ptx_sum.detach() / n_tok * info.world_size
                    (args.ptx_coef * ptx_sum * info.world_size / n_tok).backward()
                else:
                    pg_loss.backward()
                v = scalars_at(value_ddp, seq, mask, dev)[:, ro.n_prompt - 1 : -1]
                old_v = ro.values[mb]
                v_clip = old_v + (v - old_v).clamp(-args.value_clip, args.value_clip)
                v_loss = 0.5 * masked_mean(
                    torch.max((v - ret[mb]) ** 2, (v_clip - ret[mb]) ** 2), mm
                )
                v_loss.backward()
                for model, o in ((policy, p_opt), (value, v_opt)):
                    if args.grad_clip > 0:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
                    o.step()
                    o.zero_grad(set_to_none=True)
                stats += torch.stack(
                    [
                        clip_frac.double(),
                        v_loss.detach().double(),
                        ptx_loss.double(),
                        masked_mean(ent.detach(), mm).double(),
                        torch.ones((), dtype=torch.float64, device=dev),
                    ]
                )
        seq_stats = torch.stack(
            [
                ro.score.double().sum(),
                kl.sum(1).double().sum(),
                m.sum().double(),
                torch.tensor(float(b), dtype=torch.float64, device=dev),
            ]
        )
        all_reduce_sum(seq_stats, info)
        all_reduce_sum(stats, info)
        n_seq, n_upd = seq_stats[3].item(), max(stats[4].item(), 1.0)
        rec = {
            "step": step + 1,
            "score": seq_stats[0].item() / n_seq,
            "kl": seq_stats[1].item() / n_seq,
            "entropy": stats[3].item() / n_upd,
            "clip_frac": stats[0].item() / n_upd,
            "value_loss": stats[1].item() / n_upd,
            "ptx_loss": stats[2].item() / n_upd if ptx_iter is not None else None,
            "resp_len": seq_stats[2].item() / n_seq,
            "lr": lr,
            "step_s": time.perf_counter() - t0,
        }
        for k in hist:
            if k in rec and isinstance(hist[k], list):
                hist[k].append(rec[k])
        show = (step + 1) % max(1, args.log_every) == 0 or step + 1 == end
        logger.log(
            rec,
            f"ppo {fmt(rec, ['step', 'score', 'kl', 'entropy', 'clip_frac', 'value_loss', 'ptx_loss', 'resp_len', 'step_s'])}"
            if show
            else None,
        )
        bar.update(1)
        bar.set_postfix_str(f"score {rec['score']:.3f} kl {rec['kl']:.3f}")
        if (
            args.out
            and info.is_main
            and args.save_every
            and (step + 1) % args.save_every == 0
            and step + 1 < end
        ):
            _save(args, policy, value, tok, p_opt, v_opt, step + 1)
    bar.close()
    if eval_prompts:
        hist["eval_after"] = evaluate_policy(
            policy, ref, reward, eval_prompts, args, tok, banned, info
        )
        logger.log(
            {"event": "eval", "step": end, **hist["eval_after"]},
            f"ppo eval | step {end} | score {hist['eval_after']['score']:.4f} | kl {hist['eval_after']['kl']:.4f}",
        )
    if args.out and info.is_main:
        _save(args, policy, value, tok, p_opt, v_opt, end)
    logger.close()
    return hist


def plan_range(plan: StepPlan, start: int, stop: int):
    """Micro-batches for steps [start, stop) of a plan, wrapping over epochs as needed."""
    return plan.iter_micro(start, stop)


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _save(args: PPOArgs, policy: GPT, value: GPT, tok, p_opt, v_opt, step: int) -> None:
    state = {
        "optimizer": p_opt.state_dict(),
        "value_optimizer": v_opt.state_dict(),
        "step": step,
        "rng": ckpt.rng_state(),
    }
    extra = {
        "step": step,
        "prompts": str(args.prompts),
        "policy": args.policy,
        "reward": args.reward,
        "kl_coef": args.kl_coef,
        "ptx_coef": args.ptx_coef if args.ptx_data else 0.0,
    }
    ckpt.save_checkpoint(f"{args.out}/value", unwrap(value), tok, "ppo-value", extra)
    ckpt.save_checkpoint(args.out, unwrap(policy), tok, "ppo", extra, state)


def main(argv: list[str] | None = None, prog: str = "python -m trainers.ppo") -> dict[str, Any]:
    """Command-line entry point (also what ``curate train ppo`` and torchrun call)."""
    args = parse_config(PPOArgs, argv, prog, (__doc__ or "").strip())
    return train_ppo(args)


if __name__ == "__main__":
    main()
