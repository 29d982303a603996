"""Atomic writers: every output is written to a temporary sibling and renamed into place.

An interrupted run therefore never leaves a file (or folder) under the final name that looks
complete. Parquet (zstd) is the default; ``.jsonl``/``.ndjson`` (optionally ``.gz``) writes JSON lines.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike, *, is_dir: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success rename it over ``final``.

    On any exception the temporary file or folder is removed and ``final`` is left untouched.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{final.name}.tmp-"
    if is_dir:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=final.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, dir=final.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        if is_dir:
            if final.exists():
                shutil.rmtree(final)
        else:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def is_jsonl(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(JSONL_SUFFIXES)


def write_frame(frame: pl.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``frame`` atomically: JSON lines for ``.jsonl``/``.ndjson`` names, else Parquet (zstd)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if is_jsonl(path):
            if str(path).lower().endswith(".gz"):
                # mtime=0 keeps the gzip header (and so the bytes) identical across runs
                with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
                    frame.write_ndjson(gz)
            else:
                frame.write_ndjson(tmp)
        else:
            frame.write_parquet(tmp, compression="zstd", statistics=True)
    return path


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    """Write a JSON document atomically (sorted keys, so reruns differ only where values do)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(
            json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
        )
    return path
