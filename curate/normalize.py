"""Text normalisation for duplicate keys (DESIGN.md contract).

NFKC, then Unicode lower-casing, then every run of Unicode whitespace becomes one space, then strip.
"Whitespace" is what Python's ``str.split()`` splits on: the Unicode White_Space characters plus the
four ASCII information separators U+001C..U+001F, so the polars and the Python form agree exactly.
"""

from __future__ import annotations

import unicodedata

import polars as pl

WHITESPACE_RUN = r"[\s\x1c-\x1f]+"


def normalize_text(text: str) -> str:
    """Reference (pure-Python) normalisation of one string."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def normalize_expr(expr: pl.Expr) -> pl.Expr:
    """The same normalisation as a vectorised polars expression."""
    return (
        expr.str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all(WHITESPACE_RUN, " ")
        .str.strip_chars(" ")
    )


def dedup_key_expr(expr: pl.Expr, prefix_chars: int | None) -> pl.Expr:
    """Key under which prompts are duplicates: the first ``prefix_chars`` normalised characters
    (the whole normalised text when shorter, or when ``prefix_chars`` is None)."""
    normalized = normalize_expr(expr)
    return normalized if prefix_chars is None else normalized.str.slice(0, prefix_chars)
