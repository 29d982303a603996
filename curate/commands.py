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
from curate.io.writers import JSONL_SUFFIXES, write_frame
from curate.stats import StepStats, load_upstream, stats_path
from curate.step import StepResult

OUTPUT_SUFFIXES = (".parquet", *JSONL_SUFFIXES)


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
    stats.write(stats_path(output))
    data = stats.to_dict()
    reporter.summary(data)
    return data


def run_dedup(
    inputs, output, method="prefix", prefix_chars=100, io=None, reporter=None
) -> dict[str, Any]:
    from curate.steps.dedup import dedup

    return run_frame_step(
        "dedup",
        inputs,
        output,
        lambda f: dedup(f, method, prefix_chars),
        {"method": method, "prefix_chars": prefix_chars if method == "prefix" else None},
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
    stats.write(stats_path(out))
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
    from curate.io.formats import sha256_of
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
        frame, rejects = canonicalize(
            oasst.to_frame(imported), [oasst.reject_frame(imported)], io.read, path
        )
    if imported.user_ids_from_tree:
        reporter.warn(
            f"{imported.user_ids_from_tree:,} prompts have no user id; used 'tree:<message_tree_id>'. "
            "A user-level split cannot protect against leakage between users for these."
        )
    write_frame(frame, output)
    outputs = [str(output)]
    side = write_side(
        rejects, Path(io.rejects) if io.rejects else side_path(output, ".rejects.jsonl")
    )
    if side:
        outputs.append(side)
    rejected = rejects.group_by("reason").len().sort("reason")
    stats = StepStats(
        step="import oasst",
        inputs=[{"path": path, "format": f"oasst-{imported.shape}", "sha256": sha256_of(path)}],
        outputs=outputs,
        options={
            "all_turns": all_turns,
            "include_skipped": include_skipped,
            "user_id_fallback": user_id_fallback,
            "source": source,
        },
        rows_in=imported.messages,
        rows_kept=frame.height,
        removed=dict(imported.dispositions),
        rejected=dict(zip(rejected["reason"].to_list(), rejected["len"].to_list(), strict=True)),
        seconds=time.perf_counter() - started,
        extra={
            "unit": "messages",
            "shape": imported.shape,
            "user_ids_from_tree": imported.user_ids_from_tree,
            "prompts_with_ranked_completions": int(
                frame["completions"].list.len().fill_null(0).ge(2).sum()
            ),
        },
    )
    stats.write(stats_path(output))
    data = stats.to_dict()
    reporter.summary(data)
    return data
