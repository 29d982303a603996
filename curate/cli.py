"""The ``curate`` command line. Thin: parse options, call :mod:`curate.commands`, print a summary."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from curate import __version__
from curate.console import Reporter
from curate.errors import CurateError
from curate.io.readers import ColumnMap, ReadOptions
from curate.pii._worker import ScreeningError


def _io_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command that reads prompt records."""
    decorators = [
        click.option(
            "--id-col", default="id", show_default=True, help="Input column holding the record id."
        ),
        click.option(
            "--user-col",
            default="user_id",
            show_default=True,
            help="Input column holding the user id.",
        ),
        click.option(
            "--prompt-col",
            default="prompt",
            show_default=True,
            help="Input column holding the prompt text.",
        ),
        click.option(
            "--time-col",
            default="created_at",
            show_default=True,
            help="Input column holding the creation time.",
        ),
        click.option(
            "--strict",
            is_flag=True,
            help="Fail on the first bad row (naming file and line) instead of rejecting it.",
        ),
        click.option(
            "--rejects",
            type=click.Path(dir_okay=False),
            help="Where rejected rows go [default: OUTPUT.rejects.jsonl].",
        ),
        click.option(
            "--max-prompt-chars",
            type=click.IntRange(1),
            default=1_000_000,
            show_default=True,
            help="Reject prompts longer than this.",
        ),
        click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _file_step_args(func: Callable[..., Any]) -> Callable[..., Any]:
    """INPUT... and -o/--output FILE, shared by the steps that write one file."""
    func = click.option(
        "-o",
        "--output",
        required=True,
        type=click.Path(dir_okay=False),
        help="Output .parquet or .jsonl.",
    )(func)
    return click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")(func)


def _io(kwargs: dict[str, Any], removed: str | None = None):
    from curate.commands import IOOptions

    columns = ColumnMap(
        id=kwargs.pop("id_col"),
        user_id=kwargs.pop("user_col"),
        prompt=kwargs.pop("prompt_col"),
        created_at=kwargs.pop("time_col"),
    )
    read = ReadOptions(
        columns=columns,
        strict=kwargs.pop("strict"),
        max_prompt_chars=kwargs.pop("max_prompt_chars"),
    )
    return IOOptions(read=read, rejects=kwargs.pop("rejects"), removed=removed), Reporter(
        kwargs.pop("quiet")
    )


def _friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected problems into a one-line ``error:`` message and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CurateError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except (ValueError, KeyError, ScreeningError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="curate")
def cli() -> None:
    """Turn raw prompt logs into InstructGPT-style datasets: import, dedup, cap, pii, split, build, push.

    Every command writes OUTPUT atomically, rejected rows (with reason and line) to
    OUTPUT.rejects.jsonl, and counts to OUTPUT.stats.json: rows in = kept + removed + rejected.
    """


@cli.group("import")
def import_group() -> None:
    """Convert external data formats into canonical prompt records."""


@import_group.command("oasst")
@click.argument("input_path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output .parquet or .jsonl.",
)
@click.option(
    "--all-turns",
    is_flag=True,
    help="Also make records of later prompter turns, not only tree roots.",
)
@click.option("--include-skipped", is_flag=True, help="Keep deleted and review-failed messages.")
@click.option(
    "--user-id-fallback",
    type=click.Choice(["tree", "reject"]),
    default="tree",
    show_default=True,
    help="Without a user_id: use 'tree:<message_tree_id>', or reject the record.",
)
@click.option("--source", default="oasst", show_default=True, help="Value of the 'source' column.")
@_io_options
@_friendly_errors
def import_oasst(
    input_path: str,
    output: str,
    all_turns: bool,
    include_skipped: bool,
    user_id_fallback: str,
    source: str,
    **kwargs: Any,
) -> None:
    """OpenAssistant export (flat messages or nested trees) -> one prompt record per conversation start,
    with the best-ranked reply as `completion` and every ranked reply in `completions`."""
    from curate.commands import run_import_oasst

    io, reporter = _io(kwargs)
    run_import_oasst(
        input_path, output, all_turns, include_skipped, user_id_fallback, source, io, reporter
    )


@import_group.command("pairs")
@click.argument("input_path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output .parquet or .jsonl.",
)
@click.option("--user-id", default=None, help="Give every record this user id.")
@click.option("--user-id-per-record", is_flag=True, help="Give each record its own user id.")
@click.option("--source", default="pairs", show_default=True, help="Value of the 'source' column.")
@_io_options
@_friendly_errors
def import_pairs(
    input_path: str,
    output: str,
    user_id: str | None,
    user_id_per_record: bool,
    source: str,
    **kwargs: Any,
) -> None:
    """Pairwise preferences ({chosen, rejected} transcripts such as HH-RLHF, or {prompt, chosen,
    rejected}) -> prompt records: the shared context is the prompt, the two final replies the ranked
    completions. Such data has no user ids: choose --user-id NAME or --user-id-per-record."""
    from curate.commands import run_import_pairs

    io, reporter = _io(kwargs)
    run_import_pairs(input_path, output, user_id, user_id_per_record, source, io, reporter)


@cli.command()
@_file_step_args
@click.option(
    "--method",
    type=click.Choice(["prefix", "exact", "minhash"]),
    default="prefix",
    show_default=True,
    help="prefix: same first --prefix-chars normalised characters; exact: same normalised text; "
    "minhash: near duplicates (MinHash LSH, --threshold).",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.8,
    show_default=True,
    help="Estimated Jaccard similarity of word 5-grams above which prompts are near duplicates (method minhash).",
)
@click.option(
    "--prefix-chars",
    type=click.IntRange(1),
    default=100,
    show_default=True,
    help="Characters of normalised text that make the key (method prefix).",
)
@click.option(
    "--removed",
    type=click.Path(dir_okay=False),
    help="Write removed rows (with duplicate_of) here.",
)
@_io_options
@_friendly_errors
def dedup(
    inputs: tuple[str, ...],
    output: str,
    method: str,
    prefix_chars: int,
    threshold: float,
    removed: str | None,
    **kwargs: Any,
) -> None:
    """Remove duplicate prompts across all users; the earliest (then first) of each group survives.

    Text is normalised (NFKC, lower case, whitespace runs collapsed, stripped) before comparing.
    """
    from curate.commands import run_dedup

    io, reporter = _io(kwargs, removed)
    run_dedup(inputs, output, method, prefix_chars, threshold, io, reporter)


@cli.command()
@_file_step_args
@click.option(
    "--max-per-user",
    type=click.IntRange(1),
    default=200,
    show_default=True,
    help="Most rows kept per user.",
)
@click.option("--by", default="user_id", show_default=True, help="Column that identifies a user.")
@click.option(
    "--keep",
    type=click.Choice(["random", "earliest", "latest"]),
    default="random",
    show_default=True,
    help="Which rows of an over-cap user survive.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --keep random.")
@click.option("--removed", type=click.Path(dir_okay=False), help="Write removed rows here.")
@_io_options
@_friendly_errors
def cap(
    inputs: tuple[str, ...],
    output: str,
    max_per_user: int,
    by: str,
    keep: str,
    seed: int,
    removed: str | None,
    **kwargs: Any,
) -> None:
    """Keep at most --max-per-user prompts per user (InstructGPT used 200)."""
    from curate.commands import run_cap

    io, reporter = _io(kwargs, removed)
    run_cap(inputs, output, max_per_user, by, keep, seed, io, reporter)


@cli.command()
@_file_step_args
@click.option(
    "--action",
    type=click.Choice(["drop", "redact", "flag"]),
    default="drop",
    show_default=True,
    help="drop rows with PII; redact spans to <ENTITY_TYPE>; flag: keep text, add pii_entities.",
)
@click.option(
    "--entities",
    default=None,
    help="Comma-separated presidio entity types [default: EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, "
    "US_SSN, IP_ADDRESS, IBAN_CODE; + PERSON, LOCATION with --ner-model].",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Minimum presidio score.",
)
@click.option(
    "--workers", type=click.IntRange(1), default=None, help="Worker processes [default: all cores]."
)
@click.option(
    "--ner-model",
    default=None,
    help="spaCy pipeline (installed name or folder) to find names and locations.",
)
@click.option(
    "--column",
    "extra_columns",
    multiple=True,
    help="Also screen this text column (repeatable), e.g. completion.",
)
@click.option(
    "--removed",
    type=click.Path(dir_okay=False),
    help="Write dropped rows (with entity types) here.",
)
@_io_options
@_friendly_errors
def pii(
    inputs: tuple[str, ...],
    output: str,
    action: str,
    entities: str | None,
    threshold: float,
    workers: int | None,
    ner_model: str | None,
    extra_columns: tuple[str, ...],
    removed: str | None,
    **kwargs: Any,
) -> None:
    """Screen prompts for personally identifiable information with presidio-analyzer, fully offline.

    Matched values never appear in logs, stats or summaries: only entity types and counts.
    """
    from curate.commands import run_pii

    io, reporter = _io(kwargs, removed)
    columns = ("prompt", *[c for c in extra_columns if c != "prompt"])
    chosen = tuple(e.strip() for e in entities.split(",") if e.strip()) if entities else None
    run_pii(inputs, output, action, chosen, threshold, workers, ner_model, columns, io, reporter)


@cli.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Output folder."
)
@click.option(
    "--by", default="user_id", show_default=True, help="Column whose values never cross splits."
)
@click.option(
    "--ratios",
    default="0.8,0.1,0.1",
    show_default=True,
    help="train,validation[,test] shares of rows.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--strategy",
    type=click.Choice(["balanced", "hash"]),
    default="balanced",
    show_default=True,
    help="balanced: row counts close to the ratios; hash: a user's split depends only on its id.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["parquet", "jsonl"]), default="parquet", show_default=True
)
@_io_options
@_friendly_errors
def split(
    inputs: tuple[str, ...],
    output: str,
    by: str,
    ratios: str,
    seed: int,
    strategy: str,
    fmt: str,
    **kwargs: Any,
) -> None:
    """Split into OUTPUT/{train,validation,test} with no user in two splits."""
    from curate.commands import run_split
    from curate.steps.split import parse_ratios

    io, reporter = _io(kwargs)
    run_split(inputs, output, by, parse_ratios(ratios), seed, strategy, io, reporter, fmt)


@cli.command()
@click.argument("kind", type=click.Choice(["sft", "ranking", "pairs", "ppo"]))
@click.argument("split_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Output dataset folder."
)
@click.option(
    "--chat", is_flag=True, help="Add a `messages` column (role/content) for chat-format trainers."
)
@click.option(
    "--source", default=None, help="ppo: keep only prompts of this source (the paper used 'api')."
)
@click.option(
    "--license",
    "license_id",
    default="other",
    show_default=True,
    help="Licence id for the dataset card.",
)
@click.option(
    "--language",
    default="en",
    show_default=True,
    help="Comma-separated language codes for the card.",
)
@_io_options
@_friendly_errors
def build(
    kind: str,
    split_dir: str,
    output: str,
    chat: bool,
    source: str | None,
    license_id: str,
    language: str,
    **kwargs: Any,
) -> None:
    """Build an sft, ranking, pairs or ppo dataset from a `curate split` folder.

    Writes a datasets.DatasetDict (save_to_disk), Parquet in the Hub's layout (data/) and a
    dataset card (README.md) with the curation history.
    """
    from curate.commands import run_build

    io, reporter = _io(kwargs)
    run_build(
        kind, split_dir, output, chat, source, license_id, tuple(language.split(",")), io, reporter
    )


@cli.command()
@click.argument("path", type=click.Path(exists=True))
@click.option(
    "--kind", required=True, type=click.Choice(["prompts", "sft", "ranking", "pairs", "ppo"])
)
@_friendly_errors
def validate(path: str, kind: str) -> None:
    """Check a dataset (folder, .parquet, .jsonl or .arrow) against a curate record schema.

    Exits 0 when valid, 1 when problems are found (each listed with its split, column and row count).
    """
    from curate.build.validate import validate_dataset

    sizes, problems = validate_dataset(path, kind)
    shown = ", ".join(f"{name} {rows:,}" for name, rows in sizes.items())
    errors = [p for p in problems if not p.warning]
    verdict = "not a valid" if errors else "valid"
    click.echo(f"{path}: {verdict} {kind} dataset ({shown} rows)")
    for problem in problems:
        click.echo(f"  {problem}")
    if errors:
        sys.exit(1)


@cli.command()
@click.argument(
    "folders",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, file_okay=False),
    metavar="OUT...",
)
@click.option(
    "--repo-id", required=True, help="Dataset repo on the Hub, ORG/NAME (created if missing)."
)
@click.option(
    "--config-name", default=None, help="Config name for a single folder [default: its kind]."
)
@click.option("--private", is_flag=True, help="Create the repo as private.")
@click.option(
    "--revision", default=None, help="Branch to push to (created if missing) [default: main]."
)
@click.option(
    "--dry-run", is_flag=True, help="List exactly what would be uploaded; contact nothing."
)
@_friendly_errors
def push(
    folders: tuple[str, ...],
    repo_id: str,
    config_name: str | None,
    private: bool,
    revision: str | None,
    dry_run: bool,
) -> None:
    """Publish `curate build` outputs to the Hugging Face Hub, one config per dataset kind.

    The token comes from HF_TOKEN or your `hf auth login`; it is never printed.
    """
    from curate.build.hub import plan_push
    from curate.build.hub import push as push_to_hub

    if dry_run:
        plan = plan_push(list(folders), config_name)
        click.echo(f"would push to datasets/{repo_id}{'@' + revision if revision else ''}:")
        for local, remote in plan.uploads:
            click.echo(f"  {remote}  <- {local} ({local.stat().st_size:,} bytes)")
        click.echo(
            "  README.md  <- dataset card, merged with the repo's card (configs: "
            + ", ".join(plan.configs)
            + ")"
        )
        return
    result = push_to_hub(list(folders), repo_id, config_name, private, revision)
    click.echo(
        f"pushed {len(result['uploaded'])} files to datasets/{repo_id}: {result['commit_url'] or ''}"
    )


@cli.command("run")
@click.argument(
    "recipe", type=click.Path(exists=True, dir_okay=False), default=None, required=False
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False),
    help="Output folder [default: the recipe's].",
)
@click.option("-q", "--quiet", is_flag=True)
@_friendly_errors
def run_recipe(recipe: str | None, output: str | None, quiet: bool) -> None:
    """Run a YAML recipe (default: the bundled InstructGPT recipe on the bundled sample)."""
    from curate.pipeline import default_recipe, run_pipeline

    run_pipeline(recipe or default_recipe(), output, Reporter(quiet))


def _register_optional() -> None:
    """Commands whose dependencies are extras register only when importable."""
    try:
        from curate.cli_train import train
    except ImportError:
        return
    cli.add_command(train)


_register_optional()


def main() -> None:
    cli(prog_name="curate")
