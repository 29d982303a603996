"""Check any dataset (ours or someone else's) against a record schema and say what is wrong.

Accepts a ``save_to_disk`` folder (Dataset or DatasetDict), a built folder's Parquet, or a single
Parquet/JSONL/Arrow file. Problems are reported per split and column with counts and row numbers,
never with row contents.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from curate.errors import CurateError
from curate.schemas import REQUIRED, polars_schema


@dataclass(frozen=True)
class Problem:
    split: str
    column: str
    message: str
    rows: int = 0
    warning: bool = False  # worth knowing, but the data still loads and trains

    def __str__(self) -> str:
        count = f" ({self.rows:,} rows)" if self.rows else ""
        level = "warning: " if self.warning else ""
        return f"[{self.split}] {self.column}: {level}{self.message}{count}"


def load_splits(path: str | Path) -> dict[str, pl.DataFrame]:
    """Every split of a dataset as a polars frame."""
    path = Path(path)
    if path.is_dir() and (
        (path / "dataset_dict.json").is_file() or (path / "state.json").is_file()
    ):
        import datasets

        loaded = datasets.load_from_disk(str(path))
        parts = loaded if isinstance(loaded, datasets.DatasetDict) else {"data": loaded}
        return {name: pl.from_arrow(part.with_format("arrow")[:]) for name, part in parts.items()}
    if path.is_dir():
        files = sorted(path.rglob("*.parquet"))
        if not files:
            raise CurateError(
                f"{path}: no dataset found (no dataset_dict.json, state.json or Parquet files)"
            )
        splits: dict[str, list[pl.DataFrame]] = {}
        for file in files:
            splits.setdefault(file.name.split("-")[0].removesuffix(".parquet"), []).append(
                pl.read_parquet(file)
            )
        return {name: pl.concat(frames, how="diagonal_relaxed") for name, frames in splits.items()}
    suffix = path.name.lower()
    if suffix.endswith(".parquet"):
        return {"data": pl.read_parquet(path)}
    if suffix.endswith((".jsonl", ".ndjson", ".jsonl.gz")):
        return {"data": pl.read_ndjson(path)}
    if suffix.endswith((".arrow", ".feather", ".ipc")):
        return {"data": pl.read_ipc(path)}
    raise CurateError(f"{path}: expected a dataset folder, .parquet, .jsonl or .arrow")


def _compatible(actual: pl.DataType, expected: pl.DataType) -> bool:
    if actual == expected:
        return True
    if isinstance(expected, pl.Datetime) and isinstance(actual, pl.Datetime):
        return True
    if isinstance(expected, pl.List) and isinstance(actual, pl.List):
        return _compatible(actual.inner, expected.inner)
    if isinstance(expected, pl.Struct) and isinstance(actual, pl.Struct):
        want = {f.name: f.dtype for f in expected.fields}
        have = {f.name: f.dtype for f in actual.fields}
        return all(name in have and _compatible(have[name], dtype) for name, dtype in want.items())
    return expected.is_integer() and actual.is_integer()


def _count(frame: pl.DataFrame, condition: pl.Expr) -> int:
    return int(frame.select(condition.fill_null(False).sum()).item())


def check_split(kind: str, split: str, frame: pl.DataFrame) -> list[Problem]:
    schema = polars_schema(kind)
    problems = []
    for name in REQUIRED[kind]:
        if name not in frame.columns:
            problems.append(Problem(split, name, "required column missing"))
    for name, expected in schema.items():
        if name in frame.columns and not _compatible(frame.schema[name], expected):
            problems.append(Problem(split, name, f"type {frame.schema[name]}, expected {expected}"))
    if problems:
        return problems
    for name in REQUIRED[kind]:
        nulls = frame[name].null_count()
        if nulls:
            problems.append(Problem(split, name, "null values", nulls))
        if schema[name] == pl.String:
            blank = _count(frame, pl.col(name).str.strip_chars().str.len_bytes() == 0)
            if blank:
                problems.append(Problem(split, name, "empty strings", blank))
    if "id" in REQUIRED[kind]:
        duplicates = frame.height - frame["id"].n_unique()
        if duplicates:
            problems.append(Problem(split, "id", "duplicate ids", duplicates))
    if kind == "ranking":
        k, r = pl.col("completions").list.len(), pl.col("ranks").list.len()
        checks = [
            ("completions", k < 2, "fewer than 2 completions"),
            ("ranks", k != r, "ranks and completions differ in length"),
            (
                "ranks",
                pl.col("ranks").list.eval(pl.element().diff().lt(0).any()).list.first(),
                "ranks not best first",
            ),
        ]
        problems += [Problem(split, c, m, n) for c, cond, m in checks if (n := _count(frame, cond))]
    if kind == "pairs":
        same = _count(frame, pl.col("chosen") == pl.col("rejected"))
        if same:
            problems.append(
                Problem(split, "chosen", "chosen text equals rejected text", same, warning=True)
            )
    return problems


def validate_dataset(path: str | Path, kind: str) -> tuple[dict[str, int], list[Problem]]:
    """Rows per split and the problems found (empty list: valid)."""
    if kind not in REQUIRED:
        raise CurateError(f"unknown kind {kind!r}; expected one of {', '.join(REQUIRED)}")
    splits = load_splits(path)
    problems = [p for name, frame in splits.items() for p in check_split(kind, name, frame)]
    return {name: frame.height for name, frame in splits.items()}, problems
