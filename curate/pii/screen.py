"""The ``pii`` step: screen text columns with presidio and drop, redact or flag what it finds.

Only entity types, counts, row positions and offsets ever leave this module (in ``extra``, in
log records and in error messages) - never a matched value.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from typing import Literal

import polars as pl

from curate.pii.engine import BASE_ENTITIES, NER_ENTITIES
from curate.pii.prepass import candidate_entities, prepass_supported
from curate.step import REASON, StepResult, with_reason

log = logging.getLogger(__name__)

Action = Literal["drop", "redact", "flag"]
ACTIONS = ("drop", "redact", "flag")
REASON_PII = "pii"
ENTITY_TYPES_COLUMN = "pii_entity_types"
FLAG_COLUMN = "pii_entities"
FLAG_DTYPE = pl.List(
    pl.Struct({"type": pl.String, "start": pl.Int32, "end": pl.Int32, "score": pl.Float64})
)
NO_NER_NOTE = (
    "names and locations (PERSON, LOCATION) were not screened: no NER model given; "
    "pass --ner-model NAME_OR_PATH (a spaCy pipeline) to screen them"
)
# Below this many texts to analyse, a worker pool costs more than it saves.
MIN_TEXTS_FOR_POOL = 64

Span = tuple[str, int, int, float]


def default_entities(ner_model: str | os.PathLike | None = None) -> tuple[str, ...]:
    """The default entity list: the pattern types, plus PERSON and LOCATION with NER."""
    return BASE_ENTITIES + (NER_ENTITIES if ner_model is not None else ())


def flag_column_name(column: str, columns: Sequence[str]) -> str:
    """``pii_entities`` for the first screened column, ``pii_entities_<col>`` for the others."""
    return FLAG_COLUMN if column == columns[0] else f"{FLAG_COLUMN}_{column}"


def _available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _run_serial(tasks, entities, ner_model, threshold) -> list[list[Span]]:
    from curate.pii._worker import analyze_items
    from curate.pii.engine import get_engine

    return analyze_items(get_engine(entities, ner_model), tasks, threshold)


def _pool_context(ner_model: str | None):
    import multiprocessing

    if ner_model is None and "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["curate.pii._preload"])
        return ctx
    return multiprocessing.get_context("spawn")


def _start_forkserver() -> None:
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _run_pool(tasks, entities, ner_model, threshold, workers, batch_size) -> list[list[Span]]:
    from curate.pii._worker import analyze_batch, init_worker

    batches = [(threshold, tasks[i : i + batch_size]) for i in range(0, len(tasks), batch_size)]
    ctx = _pool_context(ner_model)
    with ctx.Pool(
        processes=workers, initializer=init_worker, initargs=(entities, ner_model)
    ) as pool:
        out: list[list[Span]] = []
        for batch_result in pool.imap(analyze_batch, batches):
            out.extend(batch_result)
    return out


def screen_frame(
    df: pl.DataFrame,
    *,
    columns: Sequence[str] = ("prompt",),
    action: Action = "drop",
    entities: Sequence[str] | None = None,
    threshold: float = 0.5,
    workers: int | None = None,
    ner_model: str | os.PathLike | None = None,
    prepass: bool = True,
    batch_size: int = 128,
) -> StepResult:
    """Screen ``columns`` of ``df`` for PII with presidio and drop, redact or flag.

    * ``drop``: rows with any finding go to ``removed`` with reason ``pii`` and a
      ``pii_entity_types`` column (sorted list of the types found); other rows are kept as is.
    * ``redact``: every row is kept; each detected span is replaced by ``<ENTITY_TYPE>`` and
      nothing else in the text changes.
    * ``flag``: every row is kept unchanged plus ``pii_entities`` (for ``columns[0]``; further
      columns get ``pii_entities_<column>``): list of struct{type, start, end, score} with
      offsets in Python ``str`` characters.

    ``entities`` defaults to :func:`default_entities`. ``workers`` defaults to all cores;
    ``workers=1`` (or a small amount of work) analyses in this process. ``prepass`` enables the
    vectorised pre-pass of :mod:`curate.pii.prepass` (sound: results are identical either way).
    Results do not depend on ``workers``, ``batch_size`` or ``prepass``.
    """
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, got {action!r}")
    columns = list(dict.fromkeys(columns))
    if not columns:
        raise ValueError("at least one column to screen is required")
    for column in columns:
        if column not in df.columns:
            raise ValueError(f"column {column!r} not in frame")
        if df.schema[column] not in (pl.String, pl.Null):
            raise TypeError(f"column {column!r} must be a string column, not {df.schema[column]}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError("threshold must be between 0 and 1")
    ner_model_str = None if ner_model is None else os.fspath(ner_model)
    wanted = tuple(dict.fromkeys(entities)) if entities else default_entities(ner_model_str)
    workers = _available_cores() if workers is None else max(1, int(workers))
    use_prepass = prepass and prepass_supported(wanted)

    if (
        workers > 1
        and ner_model_str is None
        and df.height * len(columns) >= 16 * MIN_TEXTS_FOR_POOL
    ):
        # a big frame will almost surely need the pool: let the forkserver import presidio
        # while this process runs the pre-pass
        _pool_context(None)
        _start_forkserver()

    # which texts go to presidio, and with which entity types
    tasks: list[tuple[str, str, list[str] | None]] = []
    slots: list[tuple[int, int]] = []  # (column index, row index) of each task
    for ci, column in enumerate(columns):
        texts = df[column].cast(pl.String)
        if use_prepass:
            subsets = candidate_entities(texts, wanted).to_list()
        else:
            subsets = [list(wanted)] * df.height
        for ri, (text, subset) in enumerate(zip(texts.to_list(), subsets, strict=True)):
            if text and subset:
                tasks.append((f"row {ri} of column {column!r}", text, subset))
                slots.append((ci, ri))
    if tasks:
        from curate.pii.engine import get_engine

        if workers > 1 and len(tasks) >= MIN_TEXTS_FOR_POOL:
            found = _run_pool(tasks, wanted, ner_model_str, threshold, workers, batch_size)
        else:
            get_engine(wanted, ner_model_str)  # fail early on bad settings
            found = _run_serial(tasks, wanted, ner_model_str, threshold)
    else:
        found = []

    spans: list[dict[int, list[Span]]] = [{} for _ in columns]
    for (ci, ri), row_spans in zip(slots, found, strict=True):
        if row_spans:
            spans[ci][ri] = row_spans

    # statistics: types and counts only
    entity_counts: Counter[str] = Counter()
    rows_by_entity: Counter[str] = Counter()
    pii_rows: set[int] = set()
    types_per_row: dict[int, set[str]] = {}
    for per_col in spans:
        for ri, row_spans in per_col.items():
            pii_rows.add(ri)
            types = {s[0] for s in row_spans}
            types_per_row.setdefault(ri, set()).update(types)
            entity_counts.update(s[0] for s in row_spans)
    for types in types_per_row.values():
        rows_by_entity.update(types)
    ner_on = ner_model_str is not None
    extra: dict = {
        "action": action,
        "columns": columns,
        "entities": list(wanted),
        "threshold": threshold,
        "ner": ner_on,
        "rows_in": df.height,
        "rows_with_pii": len(pii_rows),
        "entity_counts": {
            e: entity_counts.get(e, 0) for e in sorted(set(wanted) | set(entity_counts))
        },
        "rows_by_entity": {
            e: rows_by_entity.get(e, 0) for e in sorted(set(wanted) | set(rows_by_entity))
        },
        "prepass": use_prepass,
        "texts_analysed": len(tasks),
        "texts_skipped": sum(1 for column in columns for t in df[column].to_list() if t)
        - len(tasks),
        "workers": workers,
    }
    if not ner_on or not {"PERSON", "LOCATION"} <= set(wanted):
        missing = [e for e in NER_ENTITIES if e not in wanted]
        if missing:
            extra["note"] = (
                NO_NER_NOTE
                if not ner_on
                else f"{', '.join(missing)} not screened: not in the entity list"
            )

    removed_schema = {**df.schema, ENTITY_TYPES_COLUMN: pl.List(pl.String), REASON: pl.String}
    empty_removed = pl.DataFrame(schema=removed_schema)

    if action == "drop":
        mask = pl.Series([i in pii_rows for i in range(df.height)], dtype=pl.Boolean)
        kept = df.filter(~mask)
        removed = df.filter(mask)
        types_col = pl.Series(
            ENTITY_TYPES_COLUMN,
            [sorted(types_per_row[i]) for i in sorted(pii_rows)],
            dtype=pl.List(pl.String),
        )
        removed = with_reason(removed.with_columns(types_col), REASON_PII)
        extra["rows_dropped"] = removed.height
        log.info(
            "pii: %d of %d rows dropped (%s)",
            removed.height,
            df.height,
            ", ".join(f"{k}={v}" for k, v in sorted(entity_counts.items())) or "nothing found",
        )
        return StepResult(kept=kept, removed=removed.select(list(removed_schema)), extra=extra)

    if action == "redact":
        new_columns = []
        for ci, column in enumerate(columns):
            per_col = spans[ci]
            if not per_col:
                continue
            values = df[column].to_list()
            for ri, row_spans in per_col.items():
                values[ri] = redact_text(values[ri], row_spans)
            new_columns.append(pl.Series(column, values, dtype=pl.String))
        kept = df.with_columns(new_columns) if new_columns else df
        extra["spans_redacted"] = sum(entity_counts.values())
        extra["rows_redacted"] = len(pii_rows)
        log.info("pii: %d spans redacted in %d rows", sum(entity_counts.values()), len(pii_rows))
        return StepResult(kept=kept, removed=empty_removed, extra=extra)

    flag_columns = [
        _flag_series(flag_column_name(column, columns), spans[ci], df.height)
        for ci, column in enumerate(columns)
    ]
    kept = df.with_columns(flag_columns)
    extra["rows_flagged"] = len(pii_rows)
    log.info("pii: %d of %d rows flagged", len(pii_rows), df.height)
    return StepResult(kept=kept, removed=empty_removed, extra=extra)


def _flag_series(name: str, per_row: dict[int, list[Span]], height: int) -> pl.Series:
    """list<struct{type, start, end, score}> per row, built column-wise (fast for many rows)."""
    rows = [ri for ri, row_spans in per_row.items() for _ in row_spans]
    flat = [span for row_spans in per_row.values() for span in row_spans]
    spans = pl.DataFrame(
        {
            "__row": pl.Series(rows, dtype=pl.UInt32),
            "type": pl.Series([s[0] for s in flat], dtype=pl.String),
            "start": pl.Series([s[1] for s in flat], dtype=pl.Int32),
            "end": pl.Series([s[2] for s in flat], dtype=pl.Int32),
            "score": pl.Series([s[3] for s in flat], dtype=pl.Float64),
        }
    )
    grouped = spans.group_by("__row", maintain_order=True).agg(
        pl.struct("type", "start", "end", "score").alias(name)
    )
    every_row = pl.DataFrame({"__row": pl.arange(0, height, dtype=pl.UInt32, eager=True)})
    joined = every_row.join(grouped, on="__row", how="left", maintain_order="left")
    return joined[name].fill_null(pl.lit([], dtype=FLAG_DTYPE)).cast(FLAG_DTYPE)


def redact_text(text: str, spans: Sequence[Span]) -> str:
    """Replace each (non-overlapping) span by ``<ENTITY_TYPE>``; nothing else changes."""
    out = []
    pos = 0
    for entity_type, start, end, _score in sorted(spans, key=lambda s: (s[1], s[2])):
        if start < pos:  # overlapping input: keep the earlier replacement
            continue
        out.append(text[pos:start])
        out.append(f"<{entity_type}>")
        pos = end
    out.append(text[pos:])
    return "".join(out)
