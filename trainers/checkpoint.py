"""Checkpoint folders: safetensors weights + JSON config/tokenizer (+ trainer state to resume).

Layout of a checkpoint directory::

    model.safetensors   weights (tied embeddings stored once)
    config.json         {"model": GPTConfig, "stage": "sft"|"rm"|"ppo", ...extra}
    tokenizer.json      the byte tokenizer's specials
    trainer_state.pt    optimizer/RNG/step, loaded with torch.load(weights_only=True)

Nothing here unpickles arbitrary objects, so a checkpoint from elsewhere cannot run code.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model

from .model import GPT, GPTConfig
from .tokenizer import ByteTokenizer

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
TOKENIZER = "tokenizer.json"
STATE = "trainer_state.pt"


def _atomic_write(path: Path, write) -> None:
    """Write through ``write(tmp_path)`` then rename, so a file is either old or complete."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(
    path: str | Path,
    model: GPT,
    tok: ByteTokenizer,
    stage: str,
    extra: dict[str, Any] | None = None,
    trainer_state: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint into folder ``path`` (which may also hold the run's ``log.jsonl``).

    Each file is replaced atomically; ``config.json`` is written last, so a folder with a config
    always has weights that match it.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    _atomic_write(path / WEIGHTS, lambda f: save_model(model, f))
    _atomic_write(path / TOKENIZER, tok.save)
    if trainer_state is not None:
        _atomic_write(path / STATE, lambda f: torch.save(trainer_state, f))
    meta = {"model": model.config.to_dict(), "stage": stage, **(extra or {})}
    _atomic_write(path / CONFIG, lambda f: Path(f).write_text(json.dumps(meta, indent=2)))
    return path


def read_meta(path: str | Path) -> dict[str, Any]:
    return json.loads((Path(path) / CONFIG).read_text())


def load_model_from(
    path: str | Path,
    scalar_head: bool | None = None,
    device: torch.device | str = "cpu",
) -> tuple[GPT, ByteTokenizer, dict[str, Any]]:
    """Load a checkpoint's model, optionally adding or dropping the scalar head.

    ``scalar_head=True`` on an SFT checkpoint gives a fresh head (RM init from SFT);
    ``False`` on an RM checkpoint drops it. Any other missing/unexpected weight is an error.
    """
    path = Path(path)
    meta = read_meta(path)
    cfg = GPTConfig.from_dict(meta["model"])
    had_head = cfg.scalar_head
    if scalar_head is not None:
        cfg.scalar_head = scalar_head
    model = GPT(cfg)
    missing, unexpected = load_model(model, str(path / WEIGHTS), strict=False)
    allowed_missing = (
        {"scalar_head.weight", "scalar_head.bias"} if cfg.scalar_head and not had_head else set()
    )
    allowed_unexpected = (
        {"scalar_head.weight", "scalar_head.bias"} if had_head and not cfg.scalar_head else set()
    )
    bad = (set(missing) - allowed_missing - {"lm_head.weight"}) | (
        set(unexpected) - allowed_unexpected
    )
    if bad:
        raise ValueError(f"{path}: weights do not match the config: {sorted(bad)}")
    tok = ByteTokenizer.load(path / TOKENIZER)
    return model.to(device), tok, meta


def load_trainer_state(path: str | Path) -> dict[str, Any] | None:
    f = Path(path) / STATE
    return torch.load(f, map_location="cpu", weights_only=True) if f.exists() else None


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def build_model(
    init: str | None,
    preset_name: str,
    scalar_head: bool,
    device: torch.device,
    **overrides: Any,
) -> tuple[GPT, ByteTokenizer]:
    """A model from a checkpoint (``init``) or a fresh preset; ``overrides`` tweak the preset.

    ``block_size``/``dropout`` overrides also apply to a loaded checkpoint (block_size may only
    shrink, since position embeddings are learned).
    """
    from .model import preset

    if init:
        model, tok, _ = load_model_from(init, scalar_head=scalar_head)
        if overrides.get("dropout") is not None:
            model.config.dropout = overrides["dropout"]
            for m in model.modules():
                if isinstance(m, torch.nn.Dropout):
                    m.p = overrides["dropout"]
                if hasattr(m, "dropout") and isinstance(m.dropout, float):
                    m.dropout = overrides["dropout"]
        bs = overrides.get("block_size")
        if bs is not None and bs < model.config.block_size:
            model.config.block_size = bs
        return model.to(device), tok
    tok = ByteTokenizer()
    cfg = preset(preset_name, scalar_head=scalar_head, **overrides)
    if cfg.vocab_size < tok.vocab_size:
        raise ValueError("vocab_size must cover the tokenizer")
    return GPT(cfg).to(device), tok
