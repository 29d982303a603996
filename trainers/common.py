"""Pieces every trainer shares: optimizer groups, LR schedule, seeding, autocast, logging."""

from __future__ import annotations

import contextlib
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .dist import DistInfo


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch so a CPU run is reproducible for a given seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_optimizer(
    model: torch.nn.Module,
    lr: float,
    weight_decay: float,
    betas: tuple[float, float] = (0.9, 0.95),
    device: torch.device | None = None,
) -> torch.optim.AdamW:
    """AdamW with weight decay on 2-D weights only (matmuls, embeddings); biases/norms undecayed."""
    params = [p for p in model.parameters() if p.requires_grad]
    seen: set[int] = set()
    decay, no_decay = [], []
    for p in params:  # tied weights appear once
        if id(p) in seen:
            continue
        seen.add(id(p))
        (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    fused = device is not None and device.type == "cuda"
    return torch.optim.AdamW(groups, lr=lr, betas=betas, fused=fused)


def cosine_lr(
    step: int, max_steps: int, lr: float, warmup: int, min_lr_ratio: float = 0.1
) -> float:
    """Linear warm-up for ``warmup`` steps, then cosine decay to ``min_lr_ratio * lr``."""
    if warmup > 0 and step < warmup:
        return lr * (step + 1) / warmup
    if max_steps <= warmup:
        return lr
    frac = min(1.0, (step - warmup) / max(1, max_steps - warmup))
    return lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA; full fp32 on CPU (keeps CPU runs exactly reproducible)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain model inside a DDP wrapper (for saving, generation, config access)."""
    return model.module if hasattr(model, "module") else model


def progress(total: int, desc: str, enabled: bool):
    """A tqdm bar on rank 0 when ``enabled`` (tqdm ships with ``datasets``), else a no-op."""
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, dynamic_ncols=True, leave=False)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass

    def close(self) -> None:
        pass


class Logger:
    """Per-step log line on stderr (rank 0 only) and a JSONL copy in ``out_dir/log.jsonl``."""

    def __init__(self, info: DistInfo, out_dir: str | Path | None, quiet: bool = False) -> None:
        self.info = info
        self.quiet = quiet
        self.file = None
        if info.is_main and out_dir is not None:
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            self.file = open(Path(out_dir) / "log.jsonl", "a")  # noqa: SIM115 (closed in close())

    def log(self, record: dict[str, Any], line: str | None = None) -> None:
        if not self.info.is_main:
            return
        record = {"time": round(time.time(), 3), **record}
        if self.file is not None:
            self.file.write(json.dumps(record) + "\n")
            self.file.flush()
        if line is not None and not self.quiet:
            try:
                from tqdm.auto import tqdm

                tqdm.write(line, file=sys.stderr)
            except ImportError:  # pragma: no cover
                print(line, file=sys.stderr)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def fmt(record: dict[str, Any], keys: list[str]) -> str:
    """``key value | key value`` with compact floats, for the per-step log line."""
    parts = []
    for k in keys:
        v = record.get(k)
        if v is None:
            continue
        parts.append(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}")
    return " | ".join(parts)


def opt(default: Any, text: str, **extra: Any) -> Any:
    """A dataclass field with a default and ``--help`` text (see ``cli_args``)."""
    return field(default=default, metadata={"help": text, **extra})


def req(text: str, **extra: Any) -> Any:
    """A required dataclass field (a required command-line option)."""
    return field(metadata={"help": text, **extra})


@dataclass(kw_only=True)
class TrainArgs:
    """Options every trainer shares (each trainer adds its own data/model fields)."""

    out: str | None = opt(None, "output checkpoint folder (also holds log.jsonl); none = no save")
    preset: str = opt(
        "micro", "model size for a fresh model", choices=["nano", "micro", "mini", "small"]
    )
    block_size: int | None = opt(None, "context length (default: the preset's / checkpoint's)")
    dropout: float | None = opt(None, "dropout (default: the preset's / checkpoint's, 0.0)")
    micro_batch: int = opt(8, "examples per forward pass per process")
    grad_accum: int = opt(1, "micro-batches per optimizer step")
    max_steps: int | None = opt(None, "optimizer steps (default: --epochs worth)")
    epochs: float = opt(1.0, "passes over the train split when --max-steps is not given")
    lr: float = opt(3e-4, "peak learning rate")
    min_lr_ratio: float = opt(0.1, "final LR as a fraction of the peak (cosine)")
    warmup: int = opt(10, "linear warm-up steps")
    weight_decay: float = opt(0.1, "AdamW decay on 2-D weights")
    grad_clip: float = opt(1.0, "clip the global grad norm (0 = off)")
    eval_every: int = opt(0, "evaluate on the validation split every N steps (0 = only at the end)")
    eval_max: int | None = opt(None, "cap on validation examples per evaluation")
    save_every: int = opt(0, "save a resumable checkpoint every N steps (0 = only at the end)")
    resume: bool = opt(False, "continue from the trainer state in --out")
    stop_after: int | None = opt(
        None,
        "end (and save) after this many total steps without changing the LR schedule; --resume later",
    )
    seed: int = opt(0, "seed for init, data order and sampling")
    device: str | None = opt(None, "cpu or cuda (default: cuda when available)")
    num_workers: int = opt(1, "DataLoader worker processes that collate ahead of the step")
    progress: bool = opt(True, "show a progress bar")
    quiet: bool = opt(False, "no per-step log lines on stderr (log.jsonl is still written)")
    log_every: int = opt(1, "print a log line every N steps")
