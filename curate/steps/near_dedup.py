"""Near-duplicate detection with MinHash LSH (datasketch), for paraphrases that the prefix and
exact keys miss (a changed word, a reordered clause).

Each prompt's normalised text is cut into word n-gram shingles; MinHash signatures go into an LSH
index. Rows are visited in survivor order (earliest ``created_at``, then input order): a row whose
estimated Jaccard similarity to an already kept row reaches ``threshold`` becomes a duplicate of the
best-placed such row, otherwise it is kept and indexed. So the survivor rule is the same as for the
other methods, and the result is deterministic (fixed seed, sha1 shingle hashes).
"""

from __future__ import annotations

import polars as pl

from curate.normalize import dedup_keys

DEFAULT_THRESHOLD = 0.8
DEFAULT_NUM_PERM = 128
DEFAULT_SHINGLE_WORDS = 5


def shingles(text: str, words: int) -> set[bytes]:
    """Word n-grams of a normalised text (the whole text when it is shorter than n words)."""
    tokens = text.split(" ")
    if len(tokens) <= words:
        return {text.encode()}
    return {" ".join(tokens[i : i + words]).encode() for i in range(len(tokens) - words + 1)}


def identify_near_duplicates(
    frame: pl.DataFrame,
    threshold: float = DEFAULT_THRESHOLD,
    num_perm: int = DEFAULT_NUM_PERM,
    shingle_words: int = DEFAULT_SHINGLE_WORDS,
    progress=None,
) -> pl.Series:
    """For every row, the id of the kept row it nearly duplicates (its own id when kept)."""
    from datasketch import MinHash, MinHashLSH

    if not 0 < threshold <= 1:
        raise ValueError("threshold must be in (0, 1]")
    texts = dedup_keys(frame["prompt"], None).to_list()
    ids = frame["id"].to_list()
    times = frame.select(pl.col("created_at").dt.epoch("us").fill_null(2**63 - 1))[
        "created_at"
    ].to_list()
    priority = sorted(range(len(texts)), key=lambda i: (times[i], i))
    rank = {row: position for position, row in enumerate(priority)}
    signatures = MinHash.bulk(
        (shingles(t, shingle_words) for t in texts), num_perm=num_perm, seed=1
    )
    index = MinHashLSH(threshold=threshold, num_perm=num_perm)
    survivor = list(range(len(texts)))
    for step, row in enumerate(priority, start=1):
        signature = signatures[row]
        matches = [
            int(c)
            for c in index.query(signature)
            if signatures[int(c)].jaccard(signature) >= threshold
        ]
        if matches:
            survivor[row] = min(matches, key=rank.__getitem__)
        else:
            index.insert(str(row), signature)
        if progress and step % 10_000 == 0:
            progress(10_000)
    return pl.Series("duplicate_of", [ids[s] for s in survivor], dtype=pl.String)
