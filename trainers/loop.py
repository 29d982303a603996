"""Set-up shared by the SFT and reward-model loops: step plan, optimizer, resume, DDP, batches."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from . import checkpoint as ckpt
from .common import make_optimizer
from .data import StepPlan, make_loader


@dataclass
class Run:
    """What a supervised-style loop needs once its model and examples are ready."""

    plan: StepPlan
    total: int  # optimizer steps of the whole schedule
    start: int  # first step (non-zero when resuming)
    optimizer: torch.optim.Optimizer
    ddp: torch.nn.Module  # the model, wrapped in DDP under torchrun
    batches: Iterator[Any]  # micro-batches from ``start`` on


def load_for_run(
    args: Any, info: Any, scalar_head: bool
) -> tuple[torch.nn.Module, Any, dict | None]:
    """Model, tokenizer and trainer state: from ``--out`` when resuming, else ``--init``/preset."""
    state = ckpt.load_trainer_state(args.out) if (args.resume and args.out) else None
    init = args.out if state is not None else args.init
    model, tok = ckpt.build_model(
        init,
        args.preset,
        scalar_head,
        info.device,
        block_size=args.block_size,
        dropout=args.dropout,
    )
    return model, tok, state


def prepare_run(
    model: torch.nn.Module,
    examples: list,
    collate: Callable,
    args: Any,
    info: Any,
    state: dict | None,
) -> Run:
    """Plan steps over ``examples``, build AdamW, restore optimizer/RNG state, wrap for DDP."""
    plan = StepPlan(
        len(examples), args.micro_batch, args.grad_accum, info.world_size, info.rank, args.seed
    )
    total = args.max_steps or max(1, math.ceil(args.epochs * plan.steps_per_epoch))
    optimizer = make_optimizer(model, args.lr, args.weight_decay, device=info.device)
    start = 0
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["step"])
        ckpt.set_rng_state(state["rng"])
    ddp = DDP(model) if info.enabled else model
    loader = make_loader(examples, plan.iter_micro(start, total), collate, args.num_workers)
    return Run(plan, total, start, optimizer, ddp, iter(loader))
