"""Dataset kinds built from canonical prompt records (DESIGN.md "Dataset kinds").

Each builder takes one split's prompt records and returns a :class:`StepResult`: ``kept`` holds the
rows of the dataset kind (columns from ``schemas/<kind>.json``), ``removed`` the prompt records that
were not eligible, each with a reason. ``pairs`` expands each ranking row into one row per ordered
comparison, so its ``kept`` has more rows than went in; the count of eligible prompts is in
``extra["prompts_used"]``.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from curate.schemas import columns
from curate.step import REASON, StepResult, with_reason

KINDS: tuple[str, ...] = ("sft", "ranking", "pairs", "ppo")


def _nonblank(expr: pl.Expr) -> pl.Expr:
    return expr.is_not_null() & (expr.str.strip_chars().str.len_bytes() > 0)


def _split_by(
    frame: pl.DataFrame, keep: pl.Expr, reason: pl.Expr
) -> tuple[pl.DataFrame, pl.DataFrame]:
    mask = frame.select(keep.fill_null(False).alias("k"))["k"]
    removed = frame.filter(~mask).with_columns(reason.alias(REASON))
    return frame.filter(mask), removed


def build_sft(frame: pl.DataFrame, chat: bool = False, **_: object) -> StepResult:
    """Rows with a non-empty ``completion``: the demonstrations."""
    kept, removed = _split_by(frame, _nonblank(pl.col("completion")), pl.lit("no_completion"))
    kept = kept.select(columns("sft"))
    if chat:
        kept = kept.with_columns(
            pl.concat_list(
                pl.struct(pl.lit("user").alias("role"), pl.col("prompt").alias("content")),
                pl.struct(pl.lit("assistant").alias("role"), pl.col("completion").alias("content")),
            ).alias("messages")
        )
    return StepResult(kept=kept, removed=removed, extra={"prompts_used": kept.height})


def _ranked(frame: pl.DataFrame) -> pl.DataFrame:
    """Completions with a rank and non-empty text, sorted by rank (stable: ties keep their order)."""
    valid = pl.element().struct.field("rank").is_not_null() & _nonblank(
        pl.element().struct.field("text")
    )
    return frame.with_columns(
        pl.col("completions")
        .list.eval(pl.element().filter(valid))
        .list.eval(pl.element().sort_by(pl.element().struct.field("rank"), maintain_order=True))
        .alias("__ranked")
    )


def build_ranking(frame: pl.DataFrame, chat: bool = False, **_: object) -> StepResult:
    """One row per prompt with K >= 2 ranked completions (best first), ``ranks`` and ``has_ties``."""
    ranked = _ranked(frame)
    enough = pl.col("__ranked").list.len().fill_null(0) >= 2
    reason = (
        pl.when(pl.col("completions").is_null() | (pl.col("completions").list.len() == 0))
        .then(pl.lit("no_completions"))
        .otherwise(pl.lit("fewer_than_2_ranked"))
    )
    kept, removed = _split_by(ranked, enough, reason)
    kept = kept.with_columns(
        pl.col("__ranked").list.eval(pl.element().struct.field("text")).alias("completions"),
        pl.col("__ranked")
        .list.eval(pl.element().struct.field("rank"))
        .cast(pl.List(pl.Int32))
        .alias("ranks"),
    ).with_columns((pl.col("ranks").list.n_unique() < pl.col("ranks").list.len()).alias("has_ties"))
    kept = kept.select(columns("ranking"))
    if chat:
        kept = kept.with_columns(_user_messages())
    return StepResult(
        kept=kept, removed=removed.drop("__ranked"), extra={"prompts_used": kept.height}
    )


def _user_messages() -> pl.Expr:
    return pl.concat_list(
        pl.struct(pl.lit("user").alias("role"), pl.col("prompt").alias("content"))
    ).alias("messages")


def build_pairs(frame: pl.DataFrame, chat: bool = False, **_: object) -> StepResult:
    """Every ordered comparison of each ranking row (C(K,2) minus ties) as prompt/chosen/rejected."""
    ranking = build_ranking(frame)
    rows = (
        ranking.kept.with_row_index("__g")
        .select(
            "__g",
            pl.col("id").alias("group_id"),
            "prompt",
            pl.col("completions").alias("text"),
            pl.col("ranks").alias("rank"),
            pl.int_ranges(pl.col("ranks").list.len()).alias("pos"),
        )
        .explode("text", "rank", "pos")
    )
    pairs = (
        rows.join(rows.select("__g", "text", "rank", "pos"), on="__g", suffix="_other")
        .filter((pl.col("pos") < pl.col("pos_other")) & (pl.col("rank") < pl.col("rank_other")))
        .sort("__g", "pos", "pos_other")
        .select(
            "prompt",
            pl.col("text").alias("chosen"),
            pl.col("text_other").alias("rejected"),
            "group_id",
        )
    )
    ties = (
        int(
            ranking.kept.select(
                (pl.col("ranks").list.len() * (pl.col("ranks").list.len() - 1) // 2).sum()
            ).item()
            or 0
        )
        - pairs.height
    )
    if chat:
        pairs = pairs.with_columns(_user_messages())
    return StepResult(
        kept=pairs,
        removed=ranking.removed,
        extra={
            "prompts_used": ranking.kept.height,
            "pairs": pairs.height,
            "tied_pairs_skipped": ties,
        },
    )


def build_ppo(
    frame: pl.DataFrame, chat: bool = False, source: str | None = None, **_: object
) -> StepResult:
    """Prompts for PPO rollouts; ``source`` keeps only that source (InstructGPT used API prompts)."""
    if source is None:
        kept, removed = frame, frame.clear()
        removed = with_reason(removed, "not_source")
    else:
        kept, removed = _split_by(frame, pl.col("source") == source, pl.lit(f"source_not_{source}"))
    kept = kept.select(columns("ppo"))
    if chat:
        kept = kept.with_columns(_user_messages())
    return StepResult(kept=kept, removed=removed, extra={"prompts_used": kept.height})


BUILDERS: dict[str, Callable[..., StepResult]] = {
    "sft": build_sft,
    "ranking": build_ranking,
    "pairs": build_pairs,
    "ppo": build_ppo,
}
