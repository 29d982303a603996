"""Read any supported input into canonical prompt records (schemas/prompts.json).

``read_prompts`` maps user column names onto the canonical ones, type-checks and validates every
row, derives stable ids where the input has none, and returns the good rows in input order plus
the rejects (reason, source file, line). ``rows_in == frame.height + rejects.height`` always.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from curate.errors import BadRowError, CurateError, MissingColumnError
from curate.io import records
from curate.io.formats import RECORD_FORMATS, detect_format, is_remote, sha256_of
from curate.schemas import polars_schema

OPTION_FOR = {
    "id": "--id-col",
    "user_id": "--user-col",
    "prompt": "--prompt-col",
    "created_at": "--time-col",
}
REJECT_SCHEMA = {
    "source": pl.String,
    "line": pl.Int64,
    "reason": pl.String,
    "detail": pl.String,
    "raw": pl.String,
}
INTERNAL = ("__line", "__source")


@dataclass(frozen=True)
class ColumnMap:
    """Which input column holds each canonical field (defaults: the canonical names)."""

    id: str = "id"
    user_id: str = "user_id"
    prompt: str = "prompt"
    created_at: str = "created_at"

    def rename(self) -> dict[str, str]:
        """input name -> canonical name, for the names that differ."""
        pairs = {
            self.id: "id",
            self.user_id: "user_id",
            self.prompt: "prompt",
            self.created_at: "created_at",
        }
        return {src: dst for src, dst in pairs.items() if src != dst}

    def source_name(self, canonical: str) -> str:
        return getattr(self, canonical, canonical)


@dataclass(frozen=True)
class ReadOptions:
    columns: ColumnMap = field(default_factory=ColumnMap)
    strict: bool = False
    max_prompt_chars: int = 1_000_000
    max_line_bytes: int = 64 * 1024 * 1024
    required: tuple[str, ...] = ("user_id", "prompt")


@dataclass
class ReadResult:
    frame: pl.DataFrame
    rejects: pl.DataFrame
    inputs: list[dict[str, Any]]

    @property
    def rows_in(self) -> int:
        return self.frame.height + self.rejects.height

    @property
    def rejected_by_reason(self) -> dict[str, int]:
        if self.rejects.height == 0:
            return {}
        counts = self.rejects.group_by("reason").len().sort("reason")
        return dict(zip(counts["reason"].to_list(), counts["len"].to_list(), strict=True))


def read_prompts(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    options: ReadOptions | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReadResult:
    """Read, canonicalise and validate one or more inputs (concatenated in the order given)."""
    options = options or ReadOptions()
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    frames, reject_frames, inputs = [], [], []
    # hashing reads the file a second time; it runs in a thread while the file is parsed
    hasher = ThreadPoolExecutor(max_workers=1)
    for raw_path in paths:
        path = str(raw_path)
        if not is_remote(path) and not os.path.exists(path):
            raise CurateError(f"{path}: no such file or folder")
        try:
            fmt = detect_format(path)
        except ValueError as exc:
            raise CurateError(str(exc)) from None
        inputs.append({"path": path, "format": fmt, "sha256": hasher.submit(sha256_of, path)})
        frame, pre_rejects = _read_one(path, fmt, options, progress)
        frames.append(frame.with_columns(pl.lit(path).alias("__source")))
        reject_frames.append(pre_rejects)
    frame = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    frame, rejects = canonicalize(frame, reject_frames, options, ", ".join(str(p) for p in paths))
    for entry in inputs:
        entry["sha256"] = entry["sha256"].result()
    hasher.shutdown()
    return ReadResult(frame=frame, rejects=rejects, inputs=inputs)


def canonicalize(
    frame: pl.DataFrame, pre_rejects: list[pl.DataFrame], options: ReadOptions, where: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed frame (with ``__line``/``__source``) -> validated canonical records + all rejects."""
    if "__source" not in frame.columns:
        frame = frame.with_columns(pl.lit(where).alias("__source"))
    _check_required(frame, options, where)
    frame = _fill_canonical(frame)
    frame, rejects = _validate(frame, options)
    rejects = pl.concat([*pre_rejects, rejects], how="vertical_relaxed").sort(
        ["source", "line"], maintain_order=True
    )
    if options.strict and rejects.height:
        first = rejects.row(0, named=True)
        raise BadRowError(first["source"], first["line"], first["reason"], first["detail"] or "")
    frame = _derive_ids(frame).drop(INTERNAL, strict=False)
    return _order_columns(frame), rejects


def _read_one(
    path: str, fmt: str, options: ReadOptions, progress: Callable[[int], None] | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rename = options.columns.rename()
    if fmt in RECORD_FORMATS:
        data = records.read_bytes(path)
        if fmt == "jsonl":
            rows = records.parse_jsonl(data, rename, options.max_line_bytes, progress)
        elif fmt == "json":
            rows = records.parse_json_array(data, path, rename)
        else:
            rows = records.parse_csv(data, path, rename)
        rejects = pl.DataFrame(
            rows.rejects, schema={k: v for k, v in REJECT_SCHEMA.items() if k != "source"}
        )
        rejects = rejects.with_columns(pl.lit(path).alias("source")).select(list(REJECT_SCHEMA))
        return records.rows_to_frame(rows), rejects
    frame = _read_columnar(path, fmt)
    frame = frame.rename({k: v for k, v in rename.items() if k in frame.columns})
    frame = frame.with_row_index("__line", offset=1).with_columns(pl.col("__line").cast(pl.Int64))
    return _coerce_columns(frame, path), pl.DataFrame(schema=REJECT_SCHEMA)


def _read_columnar(path: str, fmt: str) -> pl.DataFrame:
    if is_remote(path) and not path.startswith("hf://"):  # polars reads hf:// itself
        import io

        source: Any = io.BytesIO(records.read_bytes(path))
    else:
        source = path
    try:
        if fmt == "parquet":
            return pl.read_parquet(source)
        if fmt == "parquet_dir":
            return pl.concat(
                [pl.read_parquet(p) for p in sorted(_parquet_files(path))], how="diagonal_relaxed"
            )
        if fmt == "arrow":
            return pl.read_ipc(source)
        if fmt == "hf_disk":
            return _read_hf_disk(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise CurateError(f"{path}: cannot read as {fmt}: {type(exc).__name__}") from None
    raise CurateError(f"{path}: unsupported format {fmt}")


def _parquet_files(folder: str) -> list[str]:
    return [str(p) for p in Path(folder).glob("*.parquet")]


def _read_hf_disk(path: str) -> pl.DataFrame:
    """A ``datasets.save_to_disk`` folder; a DatasetDict's splits are read in their saved order."""
    import datasets

    loaded = datasets.load_from_disk(path)
    parts = list(loaded.values()) if isinstance(loaded, datasets.DatasetDict) else [loaded]
    tables = [pl.from_arrow(part.with_format("arrow")[:]) for part in parts]
    return pl.concat(tables, how="diagonal_relaxed")


def _coerce_columns(frame: pl.DataFrame, path: str) -> pl.DataFrame:
    """Columnar inputs hold one type per column: convert it, or stop with a clear message."""
    out = []
    for name in ("id", "user_id", "prompt", "source", "completion"):
        if name not in frame.columns:
            continue
        dtype = frame.schema[name]
        if (
            dtype in (pl.String, pl.Null)
            or dtype in (pl.Categorical, pl.Enum)
            or isinstance(dtype, pl.Categorical | pl.Enum)
            or name in ("id", "user_id")
            and dtype.is_integer()
        ):
            out.append(pl.col(name).cast(pl.String))
        else:
            raise CurateError(f"{path}: column '{name}' has type {dtype}; expected text")
    if "created_at" in frame.columns:
        out.append(_time_expr(frame.schema["created_at"], path))
    if "completions" in frame.columns:
        out.append(_completions_expr(frame.schema["completions"], path))
    return frame.with_columns(out) if out else frame


def _time_expr(dtype: pl.DataType, path: str) -> pl.Expr:
    col = pl.col("created_at")
    if isinstance(dtype, pl.Datetime):
        col = (
            col.dt.replace_time_zone("UTC")
            if dtype.time_zone is None
            else col.dt.convert_time_zone("UTC")
        )
        return col.dt.cast_time_unit("us")
    if dtype == pl.Date:
        return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if dtype.is_numeric():
        return pl.from_epoch(
            col.cast(pl.Float64).mul(1e6).cast(pl.Int64), time_unit="us"
        ).dt.replace_time_zone("UTC")
    if dtype in (pl.String, pl.Null):
        return col.cast(pl.String)
    raise CurateError(f"{path}: column 'created_at' has type {dtype}; expected a timestamp")


def _completions_expr(dtype: pl.DataType, path: str) -> pl.Expr:
    target = polars_schema("prompts")["completions"]
    col = pl.col("completions")
    if isinstance(dtype, pl.List) and dtype.inner == pl.String:
        return col.list.eval(
            pl.struct(
                pl.element().alias("text"), pl.int_range(pl.len(), dtype=pl.Int32).alias("rank")
            )
        ).cast(target)
    if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
        names = {f.name for f in dtype.inner.fields}
        if "text" in names:
            if "rank" not in names:
                return col.list.eval(
                    pl.struct(
                        pl.element().struct.field("text"),
                        pl.int_range(pl.len(), dtype=pl.Int32).alias("rank"),
                    )
                ).cast(target)
            return col.list.eval(
                pl.struct(pl.element().struct.field("text"), pl.element().struct.field("rank"))
            ).cast(target)
    if dtype == pl.Null:
        return col.cast(target)
    raise CurateError(
        f"{path}: column 'completions' has type {dtype}; expected list of {{text, rank}}"
    )


def _check_required(frame: pl.DataFrame, options: ReadOptions, where: str) -> None:
    if frame.height == 0:  # an empty input (or one whose every line was rejected) is not an error
        return
    for name in options.required:
        if name not in frame.columns:
            available = [c for c in frame.columns if c not in INTERNAL]
            raise MissingColumnError(
                options.columns.source_name(name), where, available, OPTION_FOR.get(name)
            )


def _fill_canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Add absent canonical columns as typed nulls so every output has the same schema."""
    schema = polars_schema("prompts")
    missing = [
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in schema.items()
        if name not in frame.columns
    ]
    frame = frame.with_columns(missing) if missing else frame
    if frame.schema["created_at"] != schema["created_at"]:
        frame = _parse_times(frame)
    return frame


def _parse_times(frame: pl.DataFrame) -> pl.DataFrame:
    """ISO-8601 text to UTC timestamps; naive times are taken as UTC; unparseable -> ``__bad_time``."""
    text = frame["created_at"].cast(pl.String)
    parsed = text.str.to_datetime(
        time_unit="us", time_zone="UTC", strict=False, ambiguous="earliest"
    )
    needs_python = parsed.is_null() & text.is_not_null()
    if needs_python.any():
        fallback = {
            value: _parse_iso(value) for value in text.filter(needs_python).unique().to_list()
        }
        slow = text.replace_strict(fallback, default=None, return_dtype=pl.Datetime("us", "UTC"))
        parsed = pl.select(pl.when(needs_python).then(slow).otherwise(parsed)).to_series()
    bad = parsed.is_null() & text.is_not_null()
    return frame.with_columns(parsed.alias("created_at"), bad.alias("__bad_time"))


def _parse_iso(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


# what Python's str.strip()/str.split() treat as whitespace, so "empty after strip" means the same
# here as in the normalisation contract
_WHITESPACE_CHARS = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())


def _blank(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars(_WHITESPACE_CHARS).str.len_bytes() == 0


def repeated_values(values: pl.Series) -> pl.Series:
    """True where a non-null value already appeared in an earlier row (exact).

    A 64-bit hash finds the few candidate rows cheaply; the exact string check runs on those only.
    """
    repeated = pl.Series(values.name, [], dtype=pl.Boolean).extend_constant(False, values.len())
    hashes = values.hash(seed=0)
    if hashes.n_unique() == hashes.len():  # the usual case, and the cheapest test
        return repeated
    suspects = hashes.is_duplicated() & values.is_not_null()
    if not suspects.any():
        return repeated
    rows = suspects.arg_true()
    return repeated.scatter(rows, ~values.gather(rows).is_first_distinct())


def _validate(frame: pl.DataFrame, options: ReadOptions) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Vectorised row checks; the first failing rule names the reject reason.

    Each check runs once over the whole frame (duplicate_id looks at earlier rows); reasons and
    details are then worked out for the bad rows only.
    """
    prompt, user = pl.col("prompt"), pl.col("user_id")
    limit = options.max_prompt_chars
    rules: list[tuple[str, pl.Expr, pl.Expr]] = [
        ("missing_user_id", user.is_null() | _blank(user), pl.lit("")),
        ("missing_prompt", prompt.is_null(), pl.lit("")),
        ("empty_prompt", _blank(prompt), pl.lit("")),
        (
            "prompt_too_long",
            (prompt.str.len_bytes() > limit) & (prompt.str.len_chars() > limit),
            pl.format("{} characters > {}", prompt.str.len_chars(), pl.lit(limit)),
        ),
    ]
    if "__bad_time" in frame.columns:
        rules.append(("bad_timestamp", pl.col("__bad_time"), pl.lit("created_at is not ISO-8601")))
    checks = frame.select([condition.fill_null(False).alias(name) for name, condition, _ in rules])
    checks = checks.with_columns(repeated_values(frame["id"]).alias("duplicate_id"))
    rules.append(("duplicate_id", pl.col("duplicate_id"), pl.lit("an earlier row has this id")))
    mask = checks.select(pl.any_horizontal(pl.all()).alias("bad"))["bad"]
    if not mask.any():
        return frame.drop("__bad_time", strict=False), pl.DataFrame(schema=REJECT_SCHEMA)
    reason = pl.lit(None, dtype=pl.String)
    detail = pl.lit(None, dtype=pl.String)
    for name, _, text in reversed(rules):
        reason = pl.when(pl.col(f"__check_{name}")).then(pl.lit(name)).otherwise(reason)
        detail = pl.when(pl.col(f"__check_{name}")).then(text).otherwise(detail)
    flagged = pl.concat([frame, checks.select(pl.all().name.prefix("__check_"))], how="horizontal")
    bad = flagged.filter(mask)
    good = frame.filter(~mask).drop("__bad_time", strict=False)
    canonical = [c for c in polars_schema("prompts") if c in bad.columns and c != "created_at"]
    rejects = bad.select(
        pl.col("__source").alias("source"),
        pl.col("__line").alias("line"),
        reason.alias("reason"),
        detail.alias("detail"),
        pl.struct(canonical).struct.json_encode().alias("raw"),
    )
    return good, rejects


def _derive_ids(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows without an id get one from user, prompt and occurrence: reruns give the same ids."""
    missing = frame["id"].is_null()
    if not missing.any():
        return frame
    occurrence = frame.select(pl.int_range(pl.len()).over("user_id", "prompt").alias("n"))["n"]
    sub = frame.select("user_id", "prompt").with_columns(occurrence).filter(missing)
    derived = [
        hashlib.blake2b(f"{u}\x1f{p}\x1f{n}".encode(), digest_size=12).hexdigest()
        for u, p, n in sub.iter_rows()
    ]
    filled = frame["id"].scatter(missing.arg_true(), pl.Series(derived, dtype=pl.String))
    return frame.with_columns(filled)


def _order_columns(frame: pl.DataFrame) -> pl.DataFrame:
    canonical = list(polars_schema("prompts"))
    return frame.select(canonical + [c for c in frame.columns if c not in canonical])
