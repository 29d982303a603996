"""YAML recipes: a list of steps run in order, each reading the previous step's output.

Every step writes its output and stats into the run folder (``01-import.parquet``,
``02-dedup.parquet`` ...), so a run can be inspected, and each later stats file embeds the earlier
ones. Steps are registered in :data:`STEPS`; a recipe names them with their options.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from curate.console import Reporter
from curate.errors import CurateError

StepRunner = Callable[[str, Path, dict[str, Any], Reporter], tuple[Any, str]]
STEPS: dict[str, StepRunner] = {}


def register(name: str) -> Callable[[StepRunner], StepRunner]:
    def wrap(func: StepRunner) -> StepRunner:
        STEPS[name] = func
        return func

    return wrap


def _call(func: Callable[..., Any], step: str, options: dict[str, Any], **fixed: Any) -> Any:
    accepted = set(inspect.signature(func).parameters) - set(fixed) - {"io", "reporter"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise CurateError(
            f"step '{step}': unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(accepted))}"
        )
    return func(**fixed, **options)


@register("import")
def _import(source: str, out: Path, options: dict[str, Any], reporter: Reporter):
    from curate.commands import run_import_oasst

    options = dict(options)
    fmt = options.pop("format", "oasst")
    if fmt != "oasst":
        raise CurateError(f"step 'import': unknown format {fmt!r}; known: oasst")
    target = out / "01-import.parquet"
    return _call(
        run_import_oasst, "import", options, input_path=source, output=target, reporter=reporter
    ), str(target)


@register("dedup")
def _dedup(source: str, out: Path, options: dict[str, Any], reporter: Reporter):
    from curate.commands import run_dedup

    target = out / "02-dedup.parquet"
    return _call(
        run_dedup, "dedup", options, inputs=[source], output=target, reporter=reporter
    ), str(target)


@register("cap")
def _cap(source: str, out: Path, options: dict[str, Any], reporter: Reporter):
    from curate.commands import run_cap

    target = out / "03-cap.parquet"
    return _call(run_cap, "cap", options, inputs=[source], output=target, reporter=reporter), str(
        target
    )


@register("pii")
def _pii(source: str, out: Path, options: dict[str, Any], reporter: Reporter):
    from curate.commands import run_pii

    options = dict(options)
    for key in ("entities", "columns"):
        if isinstance(options.get(key), str):
            options[key] = tuple(part.strip() for part in options[key].split(","))
    target = out / "04-pii.parquet"
    return _call(run_pii, "pii", options, inputs=[source], output=target, reporter=reporter), str(
        target
    )


@register("split")
def _split(source: str, out: Path, options: dict[str, Any], reporter: Reporter):
    from curate.commands import run_split

    options = dict(options)
    if "ratios" in options:
        from curate.steps.split import parse_ratios

        options["ratios"] = parse_ratios(options["ratios"])
    target = out / "splits"
    return _call(
        run_split, "split", options, inputs=[source], output_dir=target, reporter=reporter
    ), str(target)


@register("build")
def _build(source: str, out: Path, options: dict[str, Any], reporter: Reporter):
    """Build each dataset kind listed in ``kinds`` from the split folder."""
    from curate.commands import run_build

    options = dict(options)
    kinds = options.pop("kinds", ["sft", "ranking", "pairs", "ppo"])
    if "language" in options and isinstance(options["language"], str):
        options["language"] = (options["language"],)
    if "license" in options:
        options["license_id"] = options.pop("license")
    built = []
    for kind in kinds:
        target = out / "datasets" / kind
        built.append(
            _call(
                run_build,
                "build",
                options,
                kind=kind,
                split_dir=source,
                output=target,
                reporter=reporter,
            )
        )
    return built, str(out / "datasets")


def default_recipe() -> str:
    """The bundled InstructGPT recipe: the checkout's ``pipelines/`` or the wheel's copy."""
    here = Path(__file__).resolve().parent
    for candidate in (
        here / "_pipelines" / "instructgpt.yaml",
        here.parent / "pipelines" / "instructgpt.yaml",
    ):
        if candidate.is_file():
            return str(candidate)
    raise CurateError("bundled recipe instructgpt.yaml not found; pass a recipe path")


def resolve_input(value: str, recipe: Path) -> str:
    if value.startswith("package:"):
        return str(Path(__file__).resolve().parent / value.removeprefix("package:"))
    if "://" in value or Path(value).is_absolute():
        return value
    return str((recipe.parent / value).resolve())


def load_recipe(path: str | Path) -> dict[str, Any]:
    try:
        recipe = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CurateError(f"{path}: not valid YAML ({exc.__class__.__name__})") from None
    if (
        not isinstance(recipe, dict)
        or not isinstance(recipe.get("steps"), list)
        or "input" not in recipe
    ):
        raise CurateError(f"{path}: a recipe needs 'input' and a list of 'steps'")
    return recipe


def run_pipeline(
    recipe_path: str | Path, output: str | None = None, reporter: Reporter | None = None
) -> list[dict[str, Any]]:
    """Run every step of a recipe; returns the stats of each step."""
    reporter = reporter or Reporter(quiet=True)
    reporter.step_tables = False  # one table for the whole run, at the end
    recipe_path = Path(recipe_path)
    recipe = load_recipe(recipe_path)
    out = Path(output or recipe.get("output") or f"out/{recipe_path.stem}")
    out.mkdir(parents=True, exist_ok=True)
    current = resolve_input(str(recipe["input"]), recipe_path)
    started = time.perf_counter()
    results, rows = [], []
    for entry in recipe["steps"]:
        name, options = _step_entry(entry, recipe_path)
        if name not in STEPS:
            raise CurateError(f"{recipe_path}: unknown step '{name}'; known: {', '.join(STEPS)}")
        produced, current = STEPS[name](current, out, options or {}, reporter)
        for stats in produced if isinstance(produced, list) else [produced]:
            results.append(stats)
            first_output = Path(stats["outputs"][0]) if stats["outputs"] else out
            row = {
                k: stats[k]
                for k in ("step", "rows_in", "rows_kept", "removed", "rejected", "seconds")
            }
            rows.append({**row, "output": str(first_output.relative_to(out))})
    reporter.pipeline_summary(rows)
    reporter.info(
        f"done in {time.perf_counter() - started:.1f}s; outputs and *.stats.json in {out}/"
    )
    return results


def _step_entry(entry: Any, recipe: Path) -> tuple[str, dict[str, Any] | None]:
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, dict) and len(entry) == 1:
        name, options = next(iter(entry.items()))
        if options is None or isinstance(options, dict):
            return name, options
    raise CurateError(
        f"{recipe}: each step is a name or a mapping '{{name: {{options}}}}', got {entry!r}"
    )
