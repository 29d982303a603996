"""A small GPT (nanoGPT-style) with an optional scalar head for reward and value models.

One file, one job: token ids in, next-token logits and/or one scalar per position out. The same
class serves the policy (LM head), the reward model and the PPO value function (scalar head), so
an RM or value model can be initialised from an SFT checkpoint by copying the shared weights.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GPTConfig:
    """Model shape. ``vocab_size`` defaults to the byte tokenizer's 260 ids rounded up to 264."""

    block_size: int = 256
    vocab_size: int = 264
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True
    scalar_head: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GPTConfig:
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


PRESETS: dict[str, GPTConfig] = {
    # name: shape (roughly 0.1M / 0.8M / 11M / 85M parameters)
    "nano": GPTConfig(block_size=128, n_layer=2, n_head=2, n_embd=64),
    "micro": GPTConfig(block_size=256, n_layer=4, n_head=4, n_embd=128),
    "mini": GPTConfig(block_size=512, n_layer=6, n_head=6, n_embd=384),
    "small": GPTConfig(block_size=1024, n_layer=12, n_head=12, n_embd=768),
}


def preset(name: str, **overrides) -> GPTConfig:
    """A copy of a named preset with some fields replaced (``None`` overrides are ignored)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    return replace(PRESETS[name], **{k: v for k, v in overrides.items() if v is not None})


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0, "n_embd must be divisible by n_head"
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = cfg.dropout
        self.resid_drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        drop = self.dropout if self.training else 0.0
        if mask is None:  # fast path: plain causal attention (right padding needs nothing else)
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        y = y.transpose(1, 2).contiguous().view(b, t, c)
        return self.resid_drop(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.c_proj(F.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.mlp(self.ln_2(x))


def padding_mask_to_attn(attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B,T) 1/0 padding mask -> boolean (B,1,T,T) causal attention mask and position ids.

    Used for left-padded batches (PPO rollouts). Positions count real tokens only, so a
    left-padded sequence sees the same positions as the unpadded one. Each position may always
    attend to itself so that pad rows never become all-masked (which would give NaNs).
    """
    am = attention_mask.bool()
    t = am.shape[1]
    causal = torch.ones(t, t, dtype=torch.bool, device=am.device).tril()
    eye = torch.eye(t, dtype=torch.bool, device=am.device)
    mask = (causal[None] & am[:, None, :]) | eye[None]
    pos = (am.long().cumsum(1) - 1).clamp(min=0)
    return mask[:, None], pos


class GPT(nn.Module):
    """Decoder-only transformer; ``forward`` returns ``(logits | None, scalars | None)``."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying (also keeps every param used in RM)
        self.scalar_head = nn.Linear(cfg.n_embd, 1) if cfg.scalar_head else None
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # GPT-2: scale residual projections by depth
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))
        if self.scalar_head is not None:
            nn.init.normal_(self.scalar_head.weight, std=1.0 / math.sqrt(cfg.n_embd + 1))
            nn.init.zeros_(self.scalar_head.bias)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(
        self,
        idx: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        lm: bool = True,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``idx`` (B,T) ids; ``attention_mask`` (B,T) only for left-padded batches.

        Returns LM logits (B,T,V) when ``lm`` and per-position scalars (B,T) when the model has a
        scalar head. Skipping the LM projection (``lm=False``) saves the largest matmul in RM/value
        passes.
        """
        b, t = idx.shape
        if t > self.config.block_size:
            raise ValueError(f"sequence of {t} tokens exceeds block_size {self.config.block_size}")
        if attention_mask is None:
            mask, pos = None, torch.arange(t, device=idx.device)[None]
        else:
            mask, pos = padding_mask_to_attn(attention_mask)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for block in self.h:
            x = block(x, mask)
        x = self.ln_f(x)
        logits = self.lm_head(x) if lm else None
        scalars = self.scalar_head(x).squeeze(-1) if self.scalar_head is not None else None
        return logits, scalars

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        attention_mask: torch.Tensor | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        eos_id: int | None = None,
        pad_id: int = 0,
        banned_ids: tuple[int, ...] = (),
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample continuations of a (left-padded) batch; returns ``(new_ids, new_mask)``.

        After a row emits ``eos_id`` its later positions are ``pad_id`` with mask 0. Recomputes the
        whole prefix every step (no KV cache): fine for the short answers of small models and it
        keeps this file readable. ``temperature == 0`` means greedy.
        """
        b = idx.shape[0]
        if attention_mask is None:
            attention_mask = torch.ones_like(idx)
        done = torch.zeros(b, dtype=torch.bool, device=idx.device)
        new_ids, new_mask = [], []
        for _ in range(max_new_tokens):
            ctx, ctx_mask = (
                idx[:, -self.config.block_size :],
                attention_mask[:, -self.config.block_size :],
            )
            logits, _ = self(ctx, ctx_mask)
            logits = restrict_logits(logits[:, -1, :].float(), banned_ids)
            if temperature == 0:
                nxt = logits.argmax(-1)
            else:
                logits = logits / temperature
                if top_k is not None:
                    kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                nxt = torch.multinomial(F.softmax(logits, -1), 1, generator=generator).squeeze(1)
            nxt = torch.where(done, torch.full_like(nxt, pad_id), nxt)
            m = (~done).long()
            new_ids.append(nxt)
            new_mask.append(m)
            idx = torch.cat([idx, nxt[:, None]], 1)
            attention_mask = torch.cat([attention_mask, m[:, None]], 1)
            if eos_id is not None:
                done = done | (nxt == eos_id)
            if bool(done.all()):
                break
        return torch.stack(new_ids, 1), torch.stack(new_mask, 1)


def restrict_logits(logits: torch.Tensor, banned_ids: tuple[int, ...]) -> torch.Tensor:
    """Set the logits of ids that must never be generated (pad, prompt markers) to -inf.

    Applied identically when sampling and when scoring log-probs in PPO, so the sampling
    distribution and the optimised policy are the same distribution.
    """
    if not banned_ids:
        return logits
    out = logits.clone()
    out[..., list(banned_ids)] = float("-inf")
    return out
