"""Text normalisation for duplicate keys (DESIGN.md contract).

NFKC, then Unicode lower-casing, then every run of Unicode whitespace becomes one space, then strip.
"Whitespace" is what Python's ``str.split()`` splits on: the Unicode White_Space characters plus the
four ASCII information separators U+001C..U+001F, so the polars and the Python form agree exactly.

``dedup_keys`` is the fast path used by dedup; it gives exactly ``normalize_text(t)[:prefix]``:
- pure-ASCII texts skip NFKC (ASCII is NFKC-stable) and use an ASCII whitespace class;
- for a prefix key, an ASCII text is cut to a raw window first. ASCII normalisation is a streaming
  map (lower-case each byte, collapse each whitespace run, strip the ends), so the normalised window
  is a prefix of the normalised text, up to a trailing space that strip removes. A window whose
  normalised form reaches ``prefix`` characters therefore yields the exact key; the rest (long
  whitespace runs) are normalised whole.
- other texts take the full Unicode path.
"""

from __future__ import annotations

import unicodedata

import polars as pl

WHITESPACE = r"[\s\x1c-\x1f]"
ASCII_WHITESPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f]"  # plus the space itself


def normalize_text(text: str) -> str:
    """Reference (pure-Python) normalisation of one string."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def _collapse(expr: pl.Expr, char_class: str) -> pl.Expr:
    # one class-replace then a literal-run collapse is several times faster than `class+` in polars
    return expr.str.replace_all(char_class, " ").str.replace_all("  +", " ").str.strip_chars(" ")


def normalize_expr(expr: pl.Expr) -> pl.Expr:
    """The full normalisation as a vectorised polars expression (any text)."""
    return _collapse(expr.str.normalize("NFKC").str.to_lowercase(), WHITESPACE)


def _ascii_expr(expr: pl.Expr) -> pl.Expr:
    return _collapse(expr.str.to_lowercase(), ASCII_WHITESPACE)


def dedup_keys(texts: pl.Series, prefix_chars: int | None) -> pl.Series:
    """``normalize_text(t)[:prefix_chars]`` for every text (whole form when ``prefix_chars`` is None)."""
    frame = pl.DataFrame({"t": texts})
    if prefix_chars is None:
        keys = frame.select(_ascii_expr(pl.col("t")))["t"]
    else:
        window = 2 * prefix_chars + 64
        cut = frame.select(_ascii_expr(pl.col("t").str.slice(0, window)))["t"]
        # windows whose normalised form fell short of the prefix (long whitespace runs) redo whole
        short = (cut.str.len_chars() < prefix_chars) & (texts.str.len_chars() > window)
        keys = _patch(cut, short, frame.filter(short).select(_ascii_expr(pl.col("t")))["t"])
    non_ascii = texts.str.len_bytes() != texts.str.len_chars()
    keys = _patch(keys, non_ascii, frame.filter(non_ascii).select(normalize_expr(pl.col("t")))["t"])
    if prefix_chars is not None:
        keys = keys.str.slice(0, prefix_chars)
    return keys.alias(texts.name)


def _patch(values: pl.Series, mask: pl.Series, replacements: pl.Series) -> pl.Series:
    """``values`` with the rows under ``mask`` replaced, in order, by ``replacements``."""
    if replacements.len() == 0:
        return values
    return values.scatter(mask.arg_true(), replacements)
