"""File-to-file runners for each step: read, apply the step, write outputs, rejects and stats.

The CLI and the pipeline runner both call these, so a step behaves the same either way. Each
returns the stats dictionary it wrote (``rows_in == kept + removed + rejected``, checked).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from curate.console import Reporter
from curate.errors import CurateError
from curate.io.readers import ReadOptions, ReadResult, read_prompts
from curate.io.writers import JSONL_SUFFIXES, write_frame, write_json
from curate.stats import StepStats, load_upstream, stats_path
from curate.step import StepResult

OUTPUT_SUFFIXES = (".parquet", *JSONL_SUFFIXES)
RANKED_TEXT = "__ranked_completions_text"


@dataclass
class IOOptions:
    """Where side outputs go and how inputs are read."""

    read: ReadOptions = field(default_factory=ReadOptions)
    rejects: str | None = None  # default: <output>.rejects.jsonl
    removed: str | None = None  # removed rows with their reason (written only when asked)


def check_output(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not str(path).lower().endswith(OUTPUT_SUFFIXES):
        raise CurateError(f"{path}: output must end in .parquet (default format) or .jsonl")
    return path


def side_path(output: Path, suffix: str) -> Path:
    """``out.parquet`` -> ``out.parquet<suffix>``; a folder -> ``folder/<suffix without dot>``."""
    if output.suffix == "" or output.is_dir():
        return output / suffix.lstrip(".")
    return output.with_name(output.name + suffix)


def write_side(frame: pl.DataFrame, path: Path | None) -> str | None:
    """Write rejects/removed rows when there are any; remove a stale file from an earlier run."""
    if path is None:
        return None
    if frame.height == 0:
        path.unlink(missing_ok=True)
        return None
    write_frame(frame, path)
    return str(path)


def read_with_progress(inputs: Sequence[str], io: IOOptions, reporter: Reporter) -> ReadResult:
    label = f"reading {', '.join(map(str, inputs))}"
    with reporter.phase(label) as advance:
        return read_prompts(list(inputs), io.read, progress=advance)


def read_options_dict(options: ReadOptions) -> dict[str, Any]:
    data = asdict(options)
    data["columns"] = {k: v for k, v in data["columns"].items() if v != k}
    return data


def run_frame_step(
    step: str,
    inputs: Sequence[str],
    output: str | os.PathLike,
    transform: Callable[[pl.DataFrame], StepResult],
    options: dict[str, Any],
    io: IOOptions | None = None,
    reporter: Reporter | None = None,
) -> dict[str, Any]:
    """Read ``inputs``, apply ``transform``, write kept rows to ``output`` plus rejects/removed/stats."""
    io = io or IOOptions()
    reporter = reporter or Reporter(quiet=True)
    output = check_output(output)
    started = time.perf_counter()
    read = read_with_progress(inputs, io, reporter)
    with reporter.phase(step):
        result = transform(read.frame)
    with reporter.phase(f"writing {output}"):
        write_frame(result.kept, output)
        outputs = [str(output)]
        for extra in (
            write_side(
                read.rejects,
                Path(io.rejects) if io.rejects else side_path(output, ".rejects.jsonl"),
            ),
            write_side(result.removed, Path(io.removed) if io.removed else None),
        ):
            if extra:
                outputs.append(extra)
    stats = StepStats(
        step=step,
        inputs=read.inputs,
        outputs=outputs,
        options={**options, "read": read_options_dict(io.read)},
        rows_in=read.rows_in,
        rows_kept=result.kept.height,
        removed=result.removed_by_reason,
        rejected=read.rejected_by_reason,
        seconds=time.perf_counter() - started,
        extra=result.extra,
        upstream=load_upstream(list(inputs)),
    )
    stats.write(output)
    data = stats.to_dict()
    reporter.summary(data)
    return data


def run_dedup(
    inputs, output, method="prefix", prefix_chars=100, threshold=0.8, io=None, reporter=None
) -> dict[str, Any]:
    from curate.steps.dedup import dedup

    options = {
        "method": method,
        "prefix_chars": prefix_chars if method == "prefix" else None,
        "threshold": threshold if method == "minhash" else None,
    }
    return run_frame_step(
        "dedup",
        inputs,
        output,
        lambda f: dedup(f, method, prefix_chars, threshold),
        options,
        io,
        reporter,
    )


def run_cap(
    inputs, output, max_per_user=200, by="user_id", keep="random", seed=0, io=None, reporter=None
):
    from curate.steps.cap import cap

    def transform(frame: pl.DataFrame) -> StepResult:
        if by not in frame.columns:
            raise CurateError(
                f"column '{by}' not found; pass --by with one of: {', '.join(frame.columns)}"
            )
        return cap(frame, max_per_user, by, keep, seed)

    return run_frame_step(
        "cap",
        inputs,
        output,
        transform,
        {"max_per_user": max_per_user, "by": by, "keep": keep, "seed": seed},
        io,
        reporter,
    )


def run_split(
    inputs,
    output_dir,
    by="user_id",
    ratios=(0.8, 0.1, 0.1),
    seed=0,
    strategy="balanced",
    io=None,
    reporter=None,
    fmt="parquet",
) -> dict[str, Any]:
    """Write ``DIR/{train,validation,test}.<fmt>`` and ``DIR/stats.json``."""
    from curate.steps.split import split, split_summary

    io = io or IOOptions()
    reporter = reporter or Reporter(quiet=True)
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise CurateError(f"{out}: split writes a folder; give a folder path")
    started = time.perf_counter()
    read = read_with_progress(inputs, io, reporter)
    if by not in read.frame.columns:
        raise CurateError(
            f"column '{by}' not found; pass --by with one of: {', '.join(read.frame.columns)}"
        )
    with reporter.phase("split"):
        parts = split(read.frame, by, tuple(ratios), seed, strategy)
    outputs = []
    with reporter.phase(f"writing {out}"):
        for name, part in parts.items():
            outputs.append(str(write_frame(part, out / f"{name}.{fmt}")))
        rejects = write_side(
            read.rejects, Path(io.rejects) if io.rejects else out / "rejects.jsonl"
        )
        if rejects:
            outputs.append(rejects)
    summary = split_summary(parts, by)
    stats = StepStats(
        step="split",
        inputs=read.inputs,
        outputs=outputs,
        options={
            "by": by,
            "ratios": list(ratios),
            "seed": seed,
            "strategy": strategy,
            "read": read_options_dict(io.read),
        },
        rows_in=read.rows_in,
        rows_kept=sum(p.height for p in parts.values()),
        rejected=read.rejected_by_reason,
        seconds=time.perf_counter() - started,
        extra={
            "splits": {k: v for k, v in summary.items() if not k.startswith("_")},
            "user_overlap": summary["_overlap_users"]["users"],
        },
        upstream=load_upstream(list(inputs)),
    )
    stats.write(out)
    data = stats.to_dict()
    reporter.summary(data)
    return data


def run_import_oasst(
    input_path,
    output,
    all_turns=False,
    include_skipped=False,
    user_id_fallback="tree",
    source="oasst",
    io=None,
    reporter=None,
) -> dict[str, Any]:
    from curate.importers import oasst
    from curate.io.readers import canonicalize

    io = io or IOOptions()
    reporter = reporter or Reporter(quiet=True)
    output = check_output(output)
    started = time.perf_counter()
    path = str(input_path)
    if not os.path.exists(path):
        raise CurateError(f"{path}: no such file")
    with reporter.phase(f"reading {path}"):
        imported = oasst.import_oasst(path, all_turns, include_skipped, user_id_fallback, source)
        typed, bad_records = oasst.to_frame(imported, path)
        frame, rejects = canonicalize(
            typed, [oasst.reject_frame(imported), bad_records], io.read, path
        )
    if imported.user_ids_from_tree:
        reporter.warn(
            f"{imported.user_ids_from_tree:,} prompts have no user id; used 'tree:<message_tree_id>'. "
            "A user-level split cannot protect against leakage between users for these."
        )
    return _finish_import(
        "import oasst",
        {"path": path, "format": f"oasst-{imported.shape}"},
        frame,
        rejects,
        output,
        rows_in=imported.messages,
        removed=dict(imported.dispositions),
        options={
            "all_turns": all_turns,
            "include_skipped": include_skipped,
            "user_id_fallback": user_id_fallback,
            "source": source,
        },
        extra={
            "unit": "messages",
            "shape": imported.shape,
            "user_ids_from_tree": imported.user_ids_from_tree,
            "prompts_with_ranked_completions": int(
                frame["completions"].list.len().fill_null(0).ge(2).sum()
            ),
        },
        started=started,
        io=io,
        reporter=reporter,
    )


def _finish_import(
    step: str,
    source: dict[str, Any],
    frame: pl.DataFrame,
    rejects: pl.DataFrame,
    output: Path,
    *,
    rows_in: int,
    removed: dict[str, int],
    options: dict[str, Any],
    extra: dict[str, Any],
    started: float,
    io: IOOptions,
    reporter: Reporter,
) -> dict[str, Any]:
    """Write an importer's records, rejects and stats; print the summary."""
    from curate.io.formats import sha256_of

    write_frame(frame, output)
    outputs = [str(output)]
    side = write_side(
        rejects, Path(io.rejects) if io.rejects else side_path(output, ".rejects.jsonl")
    )
    if side:
        outputs.append(side)
    rejected = rejects.group_by("reason").len().sort("reason")
    stats = StepStats(
        step=step,
        inputs=[{**source, "sha256": sha256_of(source["path"])}],
        outputs=outputs,
        options=options,
        rows_in=rows_in,
        rows_kept=frame.height,
        removed=removed,
        rejected=dict(zip(rejected["reason"].to_list(), rejected["len"].to_list(), strict=True)),
        seconds=time.perf_counter() - started,
        extra=extra,
    )
    stats.write(output)
    data = stats.to_dict()
    reporter.summary(data)
    return data


def run_build(
    kind: str,
    split_dir,
    output,
    chat=False,
    source=None,
    license_id="other",
    language=("en",),
    io=None,
    reporter=None,
) -> dict[str, Any]:
    """Build one dataset kind from a ``curate split`` folder (see :mod:`curate.build`)."""
    from curate.build.kinds import BUILDERS
    from curate.build.writer import write_dataset
    from curate.steps.split import SPLIT_NAMES

    io = io or IOOptions()
    reporter = reporter or Reporter(quiet=True)
    if kind not in BUILDERS:
        raise CurateError(f"unknown dataset kind {kind!r}; expected one of {', '.join(BUILDERS)}")
    folder = Path(split_dir)
    files = {
        name: path
        for name in SPLIT_NAMES
        for path in [folder / f"{name}.parquet", folder / f"{name}.jsonl"]
        if path.is_file()
    }
    if not files or "train" not in files:
        raise CurateError(
            f"{folder}: expected a `curate split` folder with train.parquet (and validation, test)"
        )
    started = time.perf_counter()
    parts, split_info, inputs = {}, {}, []
    rows_in = kept_prompts = 0
    removed: dict[str, int] = {}
    rejected: dict[str, int] = {}
    extra_totals: dict[str, int] = {}
    for name, path in files.items():
        read = read_with_progress([str(path)], io, reporter)
        inputs += read.inputs
        with reporter.phase(f"build {kind} {name}"):
            result = BUILDERS[kind](read.frame, chat=chat, source=source)
        parts[name] = result.kept
        rows_in += read.rows_in
        kept_prompts += result.extra["prompts_used"]
        for reason, count in result.removed_by_reason.items():
            removed[reason] = removed.get(reason, 0) + count
        for reason, count in read.rejected_by_reason.items():
            rejected[reason] = rejected.get(reason, 0) + count
        for key, value in result.extra.items():
            extra_totals[key] = extra_totals.get(key, 0) + value
        split_info[name] = {
            "rows": result.kept.height,
            "prompts_used": result.extra["prompts_used"],
            "removed": result.removed_by_reason,
        }
    if sum(p.height for p in parts.values()) == 0:
        why = (
            ", ".join(f"{reason}: {count:,}" for reason, count in removed.items())
            or "no input rows"
        )
        hint = {
            "sft": "rows need a non-empty `completion`",
            "ranking": "rows need at least 2 ranked `completions`",
            "pairs": "rows need at least 2 ranked `completions`",
            "ppo": "check --source",
        }[kind]
        raise CurateError(
            f"no rows eligible for a {kind} dataset in {folder} ({why}); {hint}. Nothing written."
        )
    for name, info in split_info.items():
        if info["rows"] == 0:
            reporter.warn(f"split {name} has no {kind} rows")
    split_stats = load_upstream([str(folder)])
    stats = StepStats(
        step=f"build {kind}",
        inputs=inputs,
        outputs=[str(output)],
        options={
            "kind": kind,
            "chat": chat,
            "source": source,
            "license": license_id,
            "language": list(language),
        },
        rows_in=rows_in,
        rows_kept=kept_prompts,
        removed=removed,
        rejected=rejected,
        extra={**extra_totals, "splits": split_info, "unit": "prompt records"},
        upstream=split_stats,
    )
    stats.seconds = time.perf_counter() - started
    data = stats.to_dict()
    with reporter.phase(f"writing {output}"):
        files_written = write_dataset(
            kind,
            parts,
            Path(output),
            data,
            split_stats[0] if split_stats else None,
            chat,
            license_id,
            tuple(language),
        )
    data["outputs"] = [str(output), *files_written]
    write_json(data, stats_path(output))  # the folder holds its own copy (written with it)
    reporter.summary({**data, "extra": {}})
    return data


def run_import_pairs(
    input_path, output, user_id=None, per_record_user=False, source="pairs", io=None, reporter=None
) -> dict[str, Any]:
    """``{chosen, rejected}`` (or ``{prompt, chosen, rejected}``) rows -> prompt records."""
    from curate.importers.pairs import import_pairs
    from curate.io import records
    from curate.io.formats import detect_format
    from curate.io.readers import _read_one, canonicalize

    io = io or IOOptions()
    reporter = reporter or Reporter(quiet=True)
    output = check_output(output)
    if (user_id is None) == (not per_record_user):
        raise CurateError(
            "pairwise data has no user ids: pass --user-id NAME (one id for every record) "
            "or --user-id-per-record (a separate id for each record)"
        )
    started = time.perf_counter()
    path = str(input_path)
    if not os.path.exists(path):
        raise CurateError(f"{path}: no such file")
    read_options = ReadOptions(
        strict=io.read.strict, max_prompt_chars=io.read.max_prompt_chars, required=()
    )
    with reporter.phase(f"reading {path}"):
        raw, pre_rejects = _read_one(path, detect_format(path), read_options, None)
        for column in ("chosen", "rejected"):
            if column not in raw.columns:
                raise CurateError(
                    f"column '{column}' not found in {path} (columns: {', '.join(raw.columns)})"
                )
        imported = import_pairs(raw.to_dicts(), user_id, source)
        typed, bad_records = records.dicts_to_frame(imported.records, path)
        frame, rejects = canonicalize(typed, [pre_rejects, bad_records], io.read, path)
    reporter.warn(
        "records have no real user ids; a split by user_id cannot keep one person's prompts out of "
        "two splits (near-duplicate contexts may leak between train and test)"
    )
    return _finish_import(
        "import pairs",
        {"path": path, "format": detect_format(path)},
        frame,
        rejects,
        output,
        rows_in=raw.height + pre_rejects.height,
        removed=dict(imported.removed),
        options={"user_id": user_id, "per_record_user": per_record_user, "source": source},
        extra={},
        started=started,
        io=io,
        reporter=reporter,
    )


def run_pii(
    inputs,
    output,
    action="drop",
    entities=None,
    threshold=0.5,
    workers=None,
    ner_model=None,
    columns=("prompt",),
    io=None,
    reporter=None,
) -> dict[str, Any]:
    """Screen prompts (and other text columns) for PII: drop, redact or flag (see :mod:`curate.pii`)."""
    from curate.pii import screen_frame

    reporter = reporter or Reporter(quiet=True)

    ranked = "completions" in columns
    if ranked and action != "drop":
        raise CurateError("the ranked `completions` list can be screened with --action drop only")

    def transform(frame: pl.DataFrame) -> StepResult:
        for column in columns:
            if column not in frame.columns:
                raise CurateError(
                    f"column '{column}' not found; --column takes one of: {', '.join(frame.columns)}"
                )
        screened = [c if c != "completions" else RANKED_TEXT for c in columns]
        if (
            ranked
        ):  # every ranked reply, one text per row, so a PII value in any of them drops the row
            texts = (
                pl.col("completions").list.eval(pl.element().struct.field("text")).list.join("\n\n")
            )
            frame = frame.with_columns(texts.fill_null("").alias(RANKED_TEXT))
        result = screen_frame(
            frame,
            columns=tuple(screened),
            action=action,
            entities=entities,
            threshold=threshold,
            workers=workers,
            ner_model=ner_model,
        )
        if ranked:
            result.kept = result.kept.drop(RANKED_TEXT)
            result.removed = result.removed.drop(RANKED_TEXT)
        return result

    options = {
        "action": action,
        "entities": list(entities) if entities else None,
        "threshold": threshold,
        "workers": workers,
        "ner_model": str(ner_model) if ner_model else None,
        "columns": list(columns),
    }
    stats = run_frame_step("pii", inputs, output, transform, options, io, reporter)
    note = stats["extra"].get("note")
    if note:
        reporter.warn(note)
    return stats
