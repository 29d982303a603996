"""Row-by-row parsing of text formats (JSON lines, JSON arrays, CSV).

Each source row either becomes a typed record or a reject with a reason and its line number; one
bad row never stops the read. Type checks happen here, per value, because a text format can hold a
different type in every row (a column-at-a-time check cannot say which row was wrong).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import polars as pl

from curate.schemas import polars_schema

Progress = Callable[[int], None]

RAW_PREVIEW_CHARS = 2000  # a reject keeps at most this much of its source line


@dataclass
class ParsedRows:
    """Typed canonical values per column plus passthrough values, and the rejects."""

    lines: list[int] = field(default_factory=list)
    columns: dict[str, list[Any]] = field(default_factory=dict)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    seen_keys: set[str] = field(default_factory=set)


def read_bytes(path: str) -> bytes:
    """Whole file; remote paths (``hf://`` and other fsspec URLs) go through fsspec."""
    if "://" in path:
        import fsspec

        with fsspec.open(path, "rb") as fh:
            data = fh.read()
    else:
        with open(path, "rb") as fh:
            data = fh.read()
    if path.lower().endswith(".gz"):
        data = gzip.decompress(data)
    return data


def _reject(rows: ParsedRows, line: int, reason: str, detail: str, raw: str | None) -> None:
    rows.rejects.append(
        {
            "line": line,
            "reason": reason,
            "detail": detail,
            "raw": None if raw is None else raw[:RAW_PREVIEW_CHARS],
        }
    )


class _WrongType(Exception):
    def __init__(self, column: str, expected: str, got: Any):
        super().__init__(f"'{column}' must be {expected}, got {type(got).__name__}")


def _as_text(value: Any, column: str, allow_int: bool) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _WrongType(column, "a string", value)


def _as_time(value: Any) -> str | None:
    """Strings are parsed later (vectorised); numbers are Unix seconds, turned into ISO text."""
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc).isoformat()
        except (OverflowError, OSError, ValueError):
            raise _WrongType("created_at", "a valid timestamp", value) from None
    raise _WrongType("created_at", "an ISO-8601 string or Unix seconds", value)


def _as_completions(value: Any) -> list[dict[str, Any]] | None:
    """Ranked completions: a list of {text, rank} objects, or a list of strings (best first)."""
    if value is None:
        return None
    if isinstance(value, str):  # CSV cells hold JSON text
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise _WrongType("completions", "a JSON list", value) from None
    if not isinstance(value, list):
        raise _WrongType("completions", "a list", value)
    out = []
    for position, item in enumerate(value):
        if isinstance(item, str):
            out.append({"text": item, "rank": position})
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            rank = item.get("rank", position)
            if rank is not None and (not isinstance(rank, int) or isinstance(rank, bool)):
                raise _WrongType("completions.rank", "an integer", rank)
            out.append({"text": item["text"], "rank": rank})
        else:
            raise _WrongType("completions[]", "a string or an object with 'text'", item)
    return out


# canonical column -> converter for one value
_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "id": lambda v: _as_text(v, "id", allow_int=True),
    "user_id": lambda v: _as_text(v, "user_id", allow_int=True),
    "prompt": lambda v: _as_text(v, "prompt", allow_int=False),
    "created_at": _as_time,
    "source": lambda v: _as_text(v, "source", allow_int=False),
    "completion": lambda v: _as_text(v, "completion", allow_int=False),
    "completions": _as_completions,
}


def add_record(
    rows: ParsedRows, record: Any, line: int, raw: str | None, rename: dict[str, str]
) -> None:
    """Type-check one parsed record and append it (or a reject) to ``rows``."""
    if not isinstance(record, dict):
        _reject(
            rows, line, "not_an_object", f"expected a JSON object, got {type(record).__name__}", raw
        )
        return
    converted: dict[str, Any] = {}
    try:
        for key, value in record.items():
            name = rename.get(key, key)
            converter = _CONVERTERS.get(name)
            converted[name] = converter(value) if converter else value
    except _WrongType as exc:
        _reject(rows, line, "wrong_type", str(exc), raw)
        return
    n = len(rows.lines)
    for name in converted.keys() - rows.seen_keys:
        rows.columns[name] = [None] * n
        rows.seen_keys.add(name)
    for name, values in rows.columns.items():
        values.append(converted.get(name))
    rows.lines.append(line)


def parse_jsonl(
    data: bytes, rename: dict[str, str], max_line_bytes: int, progress: Progress | None = None
) -> ParsedRows:
    rows = ParsedRows()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for number, raw_line in enumerate(data.split(b"\n"), start=1):
        if progress and number % 10_000 == 0:
            progress(10_000)
        if not raw_line.strip():
            continue
        if len(raw_line) > max_line_bytes:
            _reject(
                rows, number, "row_too_large", f"{len(raw_line)} bytes > {max_line_bytes}", None
            )
            continue
        try:
            text = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            preview = raw_line.decode("utf-8", errors="replace")
            _reject(rows, number, "invalid_utf8", f"byte offset {exc.start}", preview)
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            _reject(rows, number, "malformed_json", f"{exc.msg} at column {exc.colno}", text)
            continue
        add_record(rows, record, number, text, rename)
    return rows


def parse_json_array(data: bytes, path: str, rename: dict[str, str]) -> ParsedRows:
    """A JSON document holding an array of records; ``line`` is the 1-based record index."""
    from curate.errors import CurateError

    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CurateError(
            f"{path}: not a valid JSON document ({type(exc).__name__}); for one record per line use .jsonl"
        ) from None
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise CurateError(f"{path}: expected a JSON array of records")
    rows = ParsedRows()
    for index, record in enumerate(document, start=1):
        add_record(rows, record, index, None, rename)
    return rows


def parse_csv(data: bytes, path: str, rename: dict[str, str]) -> ParsedRows:
    """CSV/TSV with a header row; every value is text, empty cells are missing values."""
    text = data.decode("utf-8-sig", errors="surrogateescape")
    delimiter = "\t" if path.lower().removesuffix(".gz").endswith(".tsv") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = ParsedRows()
    try:
        header = next(reader)
    except StopIteration:
        return rows
    start = reader.line_num + 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not any(cells):
            continue
        raw = delimiter.join(cells)
        if any("\udc80" <= ch <= "\udcff" for cell in cells for ch in cell):
            preview = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            _reject(rows, line, "invalid_utf8", "", preview)
            continue
        if len(cells) != len(header):
            _reject(
                rows, line, "malformed_csv", f"{len(cells)} fields, header has {len(header)}", raw
            )
            continue
        record = {
            key: (cell if cell != "" else None) for key, cell in zip(header, cells, strict=True)
        }
        add_record(rows, record, line, raw, rename)
    return rows


def rows_to_frame(rows: ParsedRows) -> pl.DataFrame:
    """Columns of typed values to a frame; canonical columns get their schema dtype."""
    canonical = polars_schema("prompts")
    series = [pl.Series("__line", rows.lines, dtype=pl.Int64)]
    for name, values in rows.columns.items():
        if name == "created_at":
            series.append(pl.Series(name, values, dtype=pl.String))
        elif name in canonical:
            series.append(pl.Series(name, values, dtype=canonical[name]))
        else:
            series.append(_passthrough_series(name, values))
    return pl.DataFrame(series)


def _passthrough_series(name: str, values: list[Any]) -> pl.Series:
    """Unknown columns pass through; a column whose rows disagree on type is kept as JSON text."""
    try:
        return pl.Series(name, values, strict=True)
    except (TypeError, ValueError, pl.exceptions.PolarsError):
        encoded = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
        return pl.Series(name, encoded, dtype=pl.String)


def dicts_to_frame(items: list[dict[str, Any]], source: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Records built by an importer -> (typed frame, rejects); ``line`` is the record's position."""
    rows = ParsedRows()
    for number, item in enumerate(items, start=1):
        add_record(rows, item, number, None, {})
    rejects = pl.DataFrame(
        [{"source": source, **r} for r in rows.rejects],
        schema={
            "source": pl.String,
            "line": pl.Int64,
            "reason": pl.String,
            "detail": pl.String,
            "raw": pl.String,
        },
    )
    return rows_to_frame(rows), rejects
