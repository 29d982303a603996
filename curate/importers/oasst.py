"""OpenAssistant exports -> canonical prompt records.

Both export shapes are read: flat messages (one message per line with ``parent_id``) and nested
trees (one ``{message_tree_id, prompt: {..., replies: [...]}}`` per line). One record per prompter
message that starts a tree (``all_turns`` adds later prompter turns), with ``completion`` = the
best-ranked assistant reply and ``completions`` = every ranked reply with its rank, best first.

Every message is accounted for: it becomes a record, is attached to one as a reply, or is skipped
with a reason (deleted, review_failed, orphan, parent_skipped, later_turn, unranked...).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from curate.io import records
from curate.io.readers import REJECT_SCHEMA


@dataclass
class OasstImport:
    """Records (not yet validated), message dispositions and unparseable lines."""

    records: list[dict[str, Any]]
    dispositions: Counter = field(default_factory=Counter)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    messages: int = 0
    shape: str = "flat"
    user_ids_from_tree: int = 0


def _flatten_tree(tree: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Nested tree -> flat messages (parent ids and tree id filled in)."""
    tree_id = tree.get("message_tree_id")
    stack = [(tree["prompt"], None)]
    while stack:
        node, parent = stack.pop()
        message = {k: v for k, v in node.items() if k != "replies"}
        message.setdefault("parent_id", parent)
        message.setdefault("message_tree_id", tree_id)
        yield message
        for reply in reversed(node.get("replies") or []):
            stack.append((reply, node.get("message_id")))


def _load_messages(path: str, out: OasstImport) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    data = records.read_bytes(path)
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            out.rejects.append(
                {
                    "source": path,
                    "line": number,
                    "reason": "invalid_utf8",
                    "detail": "",
                    "raw": None,
                }
            )
            continue
        except json.JSONDecodeError as exc:
            out.rejects.append(
                {
                    "source": path,
                    "line": number,
                    "reason": "malformed_json",
                    "detail": exc.msg,
                    "raw": None,
                }
            )
            continue
        if isinstance(item, dict) and isinstance(item.get("prompt"), dict):
            out.shape = "trees"
            messages.extend(_flatten_tree(item))
        elif isinstance(item, dict) and "message_id" in item:
            messages.append(item)
        else:
            out.rejects.append(
                {
                    "source": path,
                    "line": number,
                    "reason": "not_a_message",
                    "detail": "",
                    "raw": None,
                }
            )
    return messages


def _skip_reason(message: dict[str, Any]) -> str | None:
    if message.get("deleted"):
        return "deleted"
    if message.get("review_result") is False:
        return "review_failed"
    return None


def _ranked_replies(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ranked = [m for m in replies if m.get("rank") is not None]
    return sorted(ranked, key=lambda m: m["rank"])  # stable: equal ranks keep file order


def _states(
    messages: list[dict[str, Any]], by_id: dict[Any, dict[str, Any]], include_skipped: bool
) -> dict[Any, str]:
    """message_id -> "ok" or why the message (or an ancestor) cannot be used."""
    state: dict[Any, str] = {}
    for message in messages:
        chain = []
        current: dict[str, Any] | None = message
        inherited = "ok"
        while current is not None and current.get("message_id") not in state:
            chain.append(current)
            parent_id = current.get("parent_id")
            if parent_id is None:
                current = None
            elif parent_id not in by_id:
                inherited, current = "orphan", None
            else:
                current = by_id[parent_id]
        if current is not None:
            inherited = "ok" if state[current["message_id"]] == "ok" else "parent_skipped"
        for node in reversed(chain):
            own = None if include_skipped else _skip_reason(node)
            # a missing parent is a structural fact and wins over the message's own flags
            state[node.get("message_id")] = "orphan" if inherited == "orphan" else own or inherited
            inherited = "ok" if state[node.get("message_id")] == "ok" else "parent_skipped"
    return state


def import_oasst(
    path: str,
    all_turns: bool = False,
    include_skipped: bool = False,
    user_id_fallback: str = "tree",
    source: str = "oasst",
) -> OasstImport:
    """Build prompt records from an OpenAssistant export (see module docstring)."""
    out = OasstImport(records=[])
    messages = _load_messages(path, out)
    out.messages = len(messages) + len(out.rejects)
    by_id = {m.get("message_id"): m for m in messages}
    children: dict[Any, list[dict[str, Any]]] = {}
    for message in messages:
        children.setdefault(message.get("parent_id"), []).append(message)
    state = _states(messages, by_id, include_skipped)

    def becomes_record(message: dict[str, Any]) -> bool:
        return message.get("role") == "prompter" and (all_turns or message.get("parent_id") is None)

    for message in messages:
        mid = message.get("message_id")
        if state[mid] != "ok":
            out.dispositions[state[mid]] += 1
        elif becomes_record(message):
            out.records.append(
                _record(message, children.get(mid, []), state, user_id_fallback, source, out)
            )
        elif message.get("role") == "prompter":
            out.dispositions["later_turn"] += 1
        else:
            parent = by_id.get(message.get("parent_id"))
            if parent is not None and becomes_record(parent):
                out.dispositions["attached_as_completion"] += 1
            elif parent is not None and parent.get("role") == "prompter":
                out.dispositions["reply_to_later_turn"] += 1
            else:
                out.dispositions["not_a_reply_to_a_prompt"] += 1
    return out


def _record(
    message: dict[str, Any],
    replies: list[dict[str, Any]],
    state: dict[Any, str],
    user_id_fallback: str,
    source: str,
    out: OasstImport,
) -> dict[str, Any]:
    usable = [
        r for r in replies if state[r.get("message_id")] == "ok" and r.get("role") == "assistant"
    ]
    ranked = _ranked_replies(usable)
    best = ranked[0] if ranked else (usable[0] if usable else None)
    user = message.get("user_id")
    if user is None and user_id_fallback == "tree" and message.get("message_tree_id"):
        user = f"tree:{message['message_tree_id']}"
        out.user_ids_from_tree += 1
    return {
        "id": message.get("message_id"),
        "user_id": user,
        "prompt": message.get("text"),
        "created_at": message.get("created_date"),
        "source": source,
        "completion": best.get("text") if best else None,
        "completions": [{"text": r.get("text"), "rank": r.get("rank")} for r in ranked] or None,
        "lang": message.get("lang"),
        "message_tree_id": message.get("message_tree_id"),
        "parent_id": message.get("parent_id"),
    }


def to_frame(result: OasstImport, source: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed records and the rejects among them (e.g. a message whose text is not a string)."""
    return records.dicts_to_frame(result.records, source)


def reject_frame(result: OasstImport) -> pl.DataFrame:
    return pl.DataFrame(result.rejects, schema=REJECT_SCHEMA)
