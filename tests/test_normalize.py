import random
import unicodedata

import polars as pl
import pytest

from curate.normalize import dedup_keys, normalize_expr, normalize_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＨＥＬＬＯ Ｗｏｒｌｄ", "hello world"),  # fullwidth letters fold under NFKC
        ("Hello\u00a0\u00a0world", "hello world"),  # non-breaking spaces
        ("  Hello \t\n\r\u2003 world \u3000", "hello world"),  # mixed Unicode whitespace, stripped
        ("HeLLo WORLD", "hello world"),  # case
        ("ﬁne ①", "fine 1"),  # compatibility ligature and circled digit
        ("ΟΔΟΣ", "οδος"),  # Greek capital sigma lower-cases by position
        ("a\x1cb\x1fc", "a b c"),  # ASCII separators count as whitespace, as str.split() says
        ("", ""),
    ],
)
def test_normalize_cases(raw, expected):
    assert normalize_text(raw) == expected
    got = pl.DataFrame({"t": [raw]}).select(normalize_expr(pl.col("t"))).item()
    assert got == expected


def test_polars_and_python_normalisation_agree_on_random_unicode():
    rng = random.Random(7)
    alphabet = [
        chr(c)
        for c in range(0x20000)
        if not 0xD800 <= c < 0xE000 and unicodedata.category(chr(c)) != "Cn"
    ]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(5000)]
    got = pl.DataFrame({"t": texts}).select(normalize_expr(pl.col("t")))["t"].to_list()
    assert got == [normalize_text(t) for t in texts]


def test_prefix_key_is_whole_text_when_short_and_truncated_when_long():
    keys = dedup_keys(pl.Series(["Short  PROMPT", "x" * 150]), 100).to_list()
    assert keys == ["short prompt", "x" * 100]


def test_fast_dedup_keys_equal_the_reference_on_tricky_texts():
    rng = random.Random(3)
    pieces = [
        "a",
        "B",
        " ",
        "\t",
        "\n",
        "\x1c",
        "\u00a0",
        "\u3000",
        "É",
        "ﬁ",
        "Σ",
        "ς",
        "\u0301",
        "x" * 50,
        " " * 300,
    ]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(4000)]
    texts += ["a" + " " * 500 + "b" * 200, "Z" * 99 + " " * 1000 + "tail"]
    for prefix in (1, 7, 100, None):
        got = dedup_keys(pl.Series(texts), prefix).to_list()
        assert got == [normalize_text(t)[:prefix] for t in texts], prefix
