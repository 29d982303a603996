"""Record schemas, read from the ``schemas/`` folder (Hugging Face ``Features`` JSON form).

The JSON files are the one source of truth for column names and types. In a wheel they ship as
``curate/_schemas``; in a source checkout (or an editable install) they sit at the repo root.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa

KINDS = ("prompts", "sft", "ranking", "pairs", "ppo")

# Which columns a record of each kind must have; the rest of the schema is optional.
REQUIRED: dict[str, tuple[str, ...]] = {
    "prompts": ("id", "user_id", "prompt"),
    "sft": ("id", "user_id", "prompt", "completion"),
    "ranking": ("id", "user_id", "prompt", "completions", "ranks"),
    "pairs": ("prompt", "chosen", "rejected", "group_id"),
    "ppo": ("id", "user_id", "prompt"),
}


def schema_dir() -> Path:
    """Folder holding ``<kind>.json``: packaged copy first, then the source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_schemas", here.parent / "schemas"):
        if (candidate / "prompts.json").is_file():
            return candidate
    raise FileNotFoundError("curate's schemas/ folder is missing; reinstall the package")


@cache
def features_dict(kind: str) -> dict[str, Any]:
    """The ``datasets.Features.to_dict()`` form of a record kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}; expected one of {', '.join(KINDS)}")
    return json.loads((schema_dir() / f"{kind}.json").read_text(encoding="utf-8"))


def features(kind: str):
    """``datasets.Features`` for a kind (imports ``datasets`` lazily: it is slow to import)."""
    import datasets

    return datasets.Features.from_dict(features_dict(kind))


def columns(kind: str) -> list[str]:
    """Column names of a kind, in schema order."""
    return list(features_dict(kind))


def _arrow_type(spec: dict[str, Any] | list) -> pa.DataType:
    """Arrow type of one Features entry (the subset of Features our schemas use)."""
    if isinstance(spec, list):  # legacy list-of-struct form
        return pa.list_(_arrow_type(spec[0]))
    if "_type" not in spec:  # a plain dict is a struct
        return pa.struct([(name, _arrow_type(sub)) for name, sub in spec.items()])
    kind = spec["_type"]
    if kind == "Value":
        dtype = spec["dtype"]
        if dtype.startswith("timestamp["):
            unit, _, tz = dtype[len("timestamp[") : -1].partition(",")
            tz = tz.strip().removeprefix("tz=") or None
            return pa.timestamp(unit.strip(), tz=tz)
        return {"string": pa.string(), "large_string": pa.large_string(), "bool": pa.bool_()}.get(
            dtype
        ) or pa.type_for_alias(dtype)
    if kind in ("List", "Sequence", "LargeList"):
        return pa.list_(_arrow_type(spec["feature"]))
    raise ValueError(f"schema entry of type {kind!r} is not supported")


def arrow_schema(kind: str) -> pa.Schema:
    """Arrow schema of a kind, in schema order."""
    return pa.schema([(name, _arrow_type(spec)) for name, spec in features_dict(kind).items()])


def _polars_type(spec: dict[str, Any] | list) -> Any:
    """Polars dtype of one Features entry (without importing pyarrow, which is slow to import)."""
    import polars as pl

    if isinstance(spec, list):
        return pl.List(_polars_type(spec[0]))
    if "_type" not in spec:
        return pl.Struct({name: _polars_type(sub) for name, sub in spec.items()})
    if spec["_type"] in ("List", "Sequence", "LargeList"):
        return pl.List(_polars_type(spec["feature"]))
    dtype = spec["dtype"]
    if dtype.startswith("timestamp["):
        unit, _, tz = dtype[len("timestamp[") : -1].partition(",")
        return pl.Datetime(unit.strip(), tz.strip().removeprefix("tz=") or None)
    simple = {
        "string": pl.String,
        "large_string": pl.String,
        "bool": pl.Boolean,
        "int32": pl.Int32,
        "int64": pl.Int64,
        "float32": pl.Float32,
        "float64": pl.Float64,
    }
    if dtype not in simple:
        raise ValueError(f"schema dtype {dtype!r} is not supported")
    return simple[dtype]


@cache
def _polars_schema(kind: str) -> tuple[tuple[str, Any], ...]:
    return tuple((name, _polars_type(spec)) for name, spec in features_dict(kind).items())


def polars_schema(kind: str) -> dict[str, Any]:
    """Polars dtypes of a kind, in schema order (a fresh dict: callers may change it)."""
    return dict(_polars_schema(kind))
