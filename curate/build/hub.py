"""Publish built datasets to the Hugging Face Hub: one config per dataset kind, in one repo.

Each dataset's Parquet shards go to ``<config>/<split>-0000i-of-0000n.parquet``; the card's YAML
gets one ``configs`` and ``dataset_info`` entry per config, merged with what the repo's card
already lists, so ``sft``, ``ranking``, ``pairs`` and ``ppo`` can be pushed one after another. The
token comes from ``HF_TOKEN`` or the user's login and is never printed.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.build import card
from curate.errors import CurateError

REPO_TYPE = "dataset"


@dataclass
class PushPlan:
    """What a push uploads (local file -> path in the repo) and the card fragments per config."""

    uploads: list[tuple[Path, str]] = field(default_factory=list)
    configs: dict[str, tuple[dict[str, Any], str]] = field(
        default_factory=dict
    )  # name -> (meta, body)
    kinds: dict[str, str] = field(default_factory=dict)

    def paths(self) -> list[str]:
        return [path for _, path in self.uploads] + ["README.md"]


def _kind_of(folder: Path) -> str:
    stats = folder / "stats.json"
    try:
        return json.loads(stats.read_text(encoding="utf-8"))["options"]["kind"]
    except (OSError, KeyError, json.JSONDecodeError):
        raise CurateError(
            f"{folder}: not a `curate build` output (no stats.json naming its kind)"
        ) from None


def plan_push(folders: list[str | Path], config_name: str | None = None) -> PushPlan:
    """Files and card entries for pushing built dataset folders (``config_name`` for one folder)."""
    if config_name and len(folders) != 1:
        raise CurateError("--config-name applies to a single dataset folder")
    plan = PushPlan()
    for raw in folders:
        folder = Path(raw)
        kind = _kind_of(folder)
        config = config_name or kind
        if config in plan.configs:
            raise CurateError(f"two folders would both be config '{config}'")
        shards = sorted((folder / "data").glob("*.parquet"))
        if not shards:
            raise CurateError(
                f"{folder}: no Parquet files under data/; rebuild it with `curate build`"
            )
        plan.uploads += [(shard, f"{config}/{shard.name}") for shard in shards]
        meta, body = card.parse((folder / "README.md").read_text(encoding="utf-8"))
        for entry in meta.get("configs", []):
            entry["config_name"] = config
            for files in entry.get("data_files", []):
                files["path"] = files["path"].replace("data/", f"{config}/", 1)
        for entry in meta.get("dataset_info", []):
            entry["config_name"] = config
        plan.configs[config] = (meta, body)
    return plan


def _by_name(entries: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {entry.get("config_name", "default"): entry for entry in entries or []}


def merge_card(existing: str | None, plan: PushPlan) -> str:
    """The repo's card with this push's configs added or replaced (other configs kept)."""
    meta, body = card.parse(existing) if existing else ({}, "")
    configs, infos = _by_name(meta.get("configs")), _by_name(meta.get("dataset_info"))
    tags = list(meta.get("tags", []))
    for name, (local_meta, local_body) in plan.configs.items():
        for key in ("license", "language", "task_categories", "size_categories"):
            meta.setdefault(key, local_meta.get(key))
        tags += [t for t in local_meta.get("tags", []) if t not in tags]
        configs.update(_by_name(local_meta.get("configs")))
        infos.update(_by_name(local_meta.get("dataset_info")))
        body = _replace_section(body, name, local_body)
    meta["tags"] = tags
    meta["configs"] = [configs[k] for k in sorted(configs)]
    meta["dataset_info"] = [infos[k] for k in sorted(infos)]
    return card.render(meta, body)


def _replace_section(body: str, name: str, text: str) -> str:
    start, end = f"<!-- curate:{name} -->", f"<!-- /curate:{name} -->"
    section = f"{start}\n{text.strip()}\n{end}\n"
    if start in body and end in body:
        before, rest = body.split(start, 1)
        return before + section + rest.split(end, 1)[1].lstrip("\n")
    return (body.rstrip() + "\n\n" if body.strip() else "") + section


def _hub_error(exc: Exception, endpoint: str) -> CurateError:
    """A one-line message for Hub failures; never includes the token."""
    name = type(exc).__name__
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status in (401, 403):
        return CurateError(
            "the Hub refused the token (401/403): check HF_TOKEN or run `hf auth login` again"
        )
    if status is not None:
        return CurateError(f"the Hub answered HTTP {status} ({name}); nothing was pushed")
    return CurateError(f"cannot reach the Hugging Face Hub at {endpoint} (offline?): {name}")


def push(
    folders: list[str | Path],
    repo_id: str,
    config_name: str | None = None,
    private: bool = False,
    revision: str | None = None,
    token: str | None = None,
    endpoint: str | None = None,
) -> dict[str, Any]:
    """Upload in one commit; returns the paths committed and the commit URL."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, get_token
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError

    plan = plan_push(folders, config_name)
    token = token or get_token()
    if not token:
        raise CurateError(
            "not logged in to the Hugging Face Hub: set HF_TOKEN or run `hf auth login`"
        )
    api = HfApi(endpoint=endpoint, token=token)
    where = api.endpoint
    try:
        api.create_repo(repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True)
        if revision:
            api.create_branch(repo_id, repo_type=REPO_TYPE, branch=revision, exist_ok=True)
        existing_files = api.list_repo_files(repo_id, repo_type=REPO_TYPE, revision=revision)
        existing_card = None
        if "README.md" in existing_files:
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    path = api.hf_hub_download(
                        repo_id, "README.md", repo_type=REPO_TYPE, revision=revision, local_dir=tmp
                    )
                    existing_card = Path(path).read_text(encoding="utf-8")
                except EntryNotFoundError:
                    existing_card = None
        new_paths = {path for _, path in plan.uploads}
        stale = [
            f for f in existing_files if f.split("/", 1)[0] in plan.configs and f not in new_paths
        ]
        operations: list[Any] = [
            CommitOperationAdd(path_in_repo=p, path_or_fileobj=str(local))
            for local, p in plan.uploads
        ]
        operations.append(
            CommitOperationAdd(
                path_in_repo="README.md", path_or_fileobj=merge_card(existing_card, plan).encode()
            )
        )
        operations += [CommitOperationDelete(path_in_repo=f) for f in stale]
        info = api.create_commit(
            repo_id,
            operations,
            commit_message=f"curate push: {', '.join(plan.configs)}",
            repo_type=REPO_TYPE,
            revision=revision,
        )
    except (HfHubHTTPError, OSError) as exc:
        raise _hub_error(exc, where) from None
    except Exception as exc:  # httpx transport errors arrive under several names
        if "Connect" in type(exc).__name__ or "Timeout" in type(exc).__name__:
            raise _hub_error(exc, where) from None
        raise
    return {
        "repo_id": repo_id,
        "uploaded": plan.paths(),
        "deleted": stale,
        "commit_url": getattr(info, "commit_url", None),
    }
