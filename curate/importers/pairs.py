"""Pairwise preference data (``{chosen, rejected}`` transcripts) -> canonical prompt records.

Anthropic HH-RLHF style rows hold two whole transcripts (``\\n\\nHuman: … \\n\\nAssistant: …``) that
share every turn but the last reply. The shared context becomes the prompt and the two final
replies the ranked completions (chosen rank 0, rejected rank 1). Rows that already have a
``prompt`` column (TRL's explicit-prompt format) use it directly. Such data has no user ids: the
caller picks one constant id or one id per record.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

ASSISTANT = "\n\nAssistant:"


@dataclass
class PairsImport:
    records: list[dict[str, Any]] = field(default_factory=list)
    removed: Counter = field(default_factory=Counter)


def split_transcript(text: str) -> tuple[str, str] | None:
    """(context up to the last assistant turn, final reply), or None without an assistant turn."""
    cut = text.rfind(ASSISTANT)
    if cut == -1:
        return None
    return text[:cut].strip(), text[cut + len(ASSISTANT) :].strip()


def _user_for(record_key: str, user_id: str | None) -> str:
    if user_id is not None:
        return user_id
    return "record:" + hashlib.blake2b(record_key.encode(), digest_size=8).hexdigest()


def import_pairs(
    rows: list[dict[str, Any]], user_id: str | None, source: str = "pairs"
) -> PairsImport:
    """Rows (already type-checked dicts with ``chosen``/``rejected`` and maybe ``prompt``)."""
    out = PairsImport()
    for index, row in enumerate(rows, start=1):
        chosen, rejected, prompt = row.get("chosen"), row.get("rejected"), row.get("prompt")
        if not isinstance(chosen, str) or not isinstance(rejected, str):
            out.removed["missing_chosen_or_rejected"] += 1
            continue
        if isinstance(prompt, str):
            context, best, worse = prompt.strip(), chosen.strip(), rejected.strip()
        else:
            first, second = split_transcript(chosen), split_transcript(rejected)
            if first is None or second is None:
                out.removed["no_assistant_turn"] += 1
                continue
            if first[0] != second[0]:
                out.removed["context_mismatch"] += 1
                continue
            context, best, worse = first[0], first[1], second[1]
        if best == worse:
            out.removed["identical_replies"] += 1
            continue
        out.records.append(
            {
                "id": row.get("id"),
                "user_id": _user_for(f"{index}\x1f{context}\x1f{best}\x1f{worse}", user_id),
                "prompt": context,
                "source": source,
                "completion": best,
                "completions": [{"text": best, "rank": 0}, {"text": worse, "rank": 1}],
            }
        )
    return out
