"""Byte-level tokenizer: 256 byte ids plus four special tokens, nothing to download.

Every string is representable (UTF-8 bytes), so no text is ever dropped as unknown, and the
vocabulary is small enough for the tiny models used in tests. Sequences are laid out as
``<|prompt|> prompt-bytes <|response|> completion-bytes <|eos|>``; the special ids sit above the
byte range so they can never be produced by encoding user text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SPECIALS = ("<|prompt|>", "<|response|>", "<|eos|>", "<|pad|>")


@dataclass(frozen=True)
class ByteTokenizer:
    """Bytes 0-255 map to themselves; specials follow at 256.. in ``SPECIALS`` order."""

    prompt_id: int = 256
    response_id: int = 257
    eos_id: int = 258
    pad_id: int = 259

    @property
    def vocab_size(self) -> int:
        return 256 + len(SPECIALS)

    @property
    def special_ids(self) -> tuple[int, ...]:
        return (self.prompt_id, self.response_id, self.eos_id, self.pad_id)

    def encode(self, text: str) -> list[int]:
        """Raw UTF-8 bytes of ``text`` (no specials)."""
        return list(text.encode("utf-8"))

    def encode_prompt(self, prompt: str, max_len: int | None = None) -> list[int]:
        """``<|prompt|> bytes <|response|>``; long prompts keep their *end* (closest to the answer)."""
        body = self.encode(prompt)
        if max_len is not None and len(body) + 2 > max_len:
            body = body[len(body) - max(max_len - 2, 0) :]
        return [self.prompt_id, *body, self.response_id]

    def encode_completion(self, completion: str, max_len: int | None = None) -> list[int]:
        """``bytes <|eos|>``; long completions are cut at the end (the EOS is then dropped too)."""
        ids = [*self.encode(completion), self.eos_id]
        return ids if max_len is None else ids[:max_len]

    def decode(self, ids: list[int], skip_special: bool = True) -> str:
        """Bytes back to text; invalid UTF-8 (a cut multi-byte char) is replaced, never raised."""
        out = bytearray()
        for i in ids:
            if i < 256:
                out.append(i)
            elif not skip_special:
                out.extend(SPECIALS[i - 256].encode())
        return out.decode("utf-8", errors="replace")

    def to_dict(self) -> dict:
        return {
            "type": "byte",
            "specials": dict(zip(SPECIALS, self.special_ids, strict=True)),
            "vocab_size": self.vocab_size,
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: str | Path) -> ByteTokenizer:
        data = json.loads(Path(path).read_text())
        if data.get("type") != "byte":
            raise ValueError(f"{path}: not a byte tokenizer ({data.get('type')!r})")
        sp = data["specials"]
        return cls(
            prompt_id=sp["<|prompt|>"],
            response_id=sp["<|response|>"],
            eos_id=sp["<|eos|>"],
            pad_id=sp["<|pad|>"],
        )


def encode_pair(
    tok: ByteTokenizer, prompt: str, completion: str, block_size: int
) -> tuple[list[int], int]:
    """Tokenise prompt+completion into at most ``block_size`` ids.

    Returns ``(ids, n_prompt)``: the first ``n_prompt`` ids are the prompt part (they carry no
    loss). Prompts are given at most half the block when the pair would not fit, so a long prompt
    can never push the whole answer out of the window.
    """
    comp = tok.encode_completion(completion)
    prompt_budget = max(block_size - len(comp), block_size // 2)
    p = tok.encode_prompt(prompt, max_len=prompt_budget)
    ids = (p + comp)[:block_size]
    return ids, len(p)
