"""Input format detection and input fingerprints (sha256) for the stats files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

RECORD_FORMATS = ("jsonl", "json", "csv")
COLUMNAR_FORMATS = ("parquet", "arrow", "hf_disk", "parquet_dir")

_BY_SUFFIX = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}


def is_remote(path: str) -> bool:
    return "://" in str(path)


def detect_format(path: str | os.PathLike) -> str:
    """Format name for a path, from its extension (``.gz`` looks at the name inside) or folder."""
    text = str(path)
    if not is_remote(text) and Path(text).is_dir():
        folder = Path(text)
        if (folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file():
            return "hf_disk"
        if any(folder.glob("*.parquet")):
            return "parquet_dir"
        raise ValueError(
            f"{text}: folder is neither a datasets save_to_disk folder nor Parquet files"
        )
    name = text.lower().removesuffix(".gz")
    for suffix, fmt in _BY_SUFFIX.items():
        if name.endswith(suffix):
            return fmt
    known = ", ".join(sorted(_BY_SUFFIX))
    raise ValueError(
        f"{text}: unknown input format; expected one of {known} (optionally .gz) or a folder"
    )


def sha256_of(path: str | os.PathLike) -> str | None:
    """sha256 of a file, or of a folder's files (names and bytes, sorted); None for remote paths."""
    if is_remote(str(path)):
        return None
    digest = hashlib.sha256()
    target = Path(path)
    files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
    for file in files:
        if target.is_dir():
            digest.update(str(file.relative_to(target)).encode() + b"\0")
        with open(file, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
