"""Small generated datasets in the built layouts, for tests, benchmarks and smoke runs.

Nothing here reads the network or the disk outside the folder it writes. ``sample_sft`` is the
bundled SFT sample: templated tasks (arithmetic, reversing, upper-casing, counting) whose answers
follow from the prompt, so a small model's loss visibly falls. ``vowel_ranking`` encodes a
synthetic preference (more vowels is better) that a reward model can learn and PPO can exploit.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
VOWELS = "aeiou"
CONSONANTS = "".join(c for c in string.ascii_lowercase if c not in VOWELS)


def features(kind: str):
    """``datasets.Features`` for a dataset kind, from ``schemas/<kind>.json`` (the one source)."""
    import datasets

    for d in (SCHEMA_DIR, Path(__file__).resolve().parents[1] / "curate" / "_schemas"):
        f = d / f"{kind}.json"
        if f.exists():
            return datasets.Features.from_dict(json.loads(f.read_text()))
    raise FileNotFoundError(f"no schema for {kind!r}")


def save_dataset_dict(path: str | Path, kind: str, splits: dict[str, dict[str, list]]) -> Path:
    """``{split: columns}`` -> DatasetDict with the kind's features, saved with ``save_to_disk``."""
    import datasets

    datasets.disable_progress_bars()  # callers print their own progress
    feats = features(kind)
    dd = datasets.DatasetDict(
        {name: datasets.Dataset.from_dict(cols, features=feats) for name, cols in splits.items()}
    )
    dd.save_to_disk(str(path))
    return Path(path)


def _word(rng: random.Random, lo: int = 3, hi: int = 7) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(lo, hi)))


def sample_sft_rows(n: int, seed: int = 0) -> dict[str, list]:
    """Templated prompt/answer pairs whose answers a small model can learn from the prompt."""
    rng = random.Random(seed)
    rows: dict[str, list] = {"id": [], "user_id": [], "prompt": [], "completion": []}
    for i in range(n):
        task = i % 4
        if task == 0:
            a, b = rng.randint(0, 20), rng.randint(0, 20)
            p, c = f"What is {a} plus {b}?", f"{a} plus {b} is {a + b}."
        elif task == 1:
            w = _word(rng)
            p, c = f"Reverse the word {w}.", f"The reverse of {w} is {w[::-1]}."
        elif task == 2:
            w = _word(rng)
            p, c = f"Write {w} in capitals.", f"{w.upper()}"
        else:
            w = _word(rng)
            p, c = f"How many letters are in {w}?", f"{w} has {len(w)} letters."
        rows["id"].append(f"s{seed}-{i}")
        rows["user_id"].append(f"u{i % 17}")
        rows["prompt"].append(p)
        rows["completion"].append(c)
    return rows


def sample_sft(path: str | Path, n_train: int = 256, n_val: int = 64, seed: int = 0) -> Path:
    return save_dataset_dict(
        path,
        "sft",
        {
            "train": sample_sft_rows(n_train, seed),
            "validation": sample_sft_rows(n_val, seed + 1000),
            "test": sample_sft_rows(8, seed + 2000),
        },
    )


def _vowel_string(rng: random.Random, n: int, n_vowels: int) -> str:
    chars = [rng.choice(VOWELS) for _ in range(n_vowels)]
    chars += [rng.choice(CONSONANTS) for _ in range(n - n_vowels)]
    rng.shuffle(chars)
    return "".join(chars)


def letters_sft_rows(n: int, seed: int = 0, length: int = 8) -> dict[str, list]:
    """Prompts answered by random lowercase letters: a policy with room to move for PPO."""
    rng = random.Random(seed)
    rows: dict[str, list] = {"id": [], "user_id": [], "prompt": [], "completion": []}
    for i in range(n):
        rows["id"].append(f"l{seed}-{i}")
        rows["user_id"].append(f"u{i % 13}")
        rows["prompt"].append(f"Say {rng.randint(0, 99)}:")
        rows["completion"].append(
            "".join(rng.choice(string.ascii_lowercase) for _ in range(length))
        )
    return rows


def vowel_ranking_rows(
    n: int, k: int, seed: int = 0, length: int = 8, ties: bool = False
) -> dict[str, list]:
    """K completions per prompt with strictly fewer vowels down the list (best first).

    Completion ``j`` has ``round(length * (k-1-j)/(k-1))`` vowels. With ``ties`` some rows repeat a
    vowel count and share a rank (``has_ties``), which the RM loss must skip.
    """
    rng = random.Random(seed)
    rows: dict[str, list] = {
        k_: [] for k_ in ("id", "user_id", "prompt", "completions", "ranks", "has_ties")
    }
    for i in range(n):
        counts = [round(length * (k - 1 - j) / (k - 1)) for j in range(k)]
        if ties and i % 5 == 0:
            counts[1] = counts[0]
        ranks, r = [], 0
        for j, c in enumerate(counts):
            if j > 0 and c != counts[j - 1]:
                r = j
            ranks.append(r)
        rows["id"].append(f"r{seed}-{i}")
        rows["user_id"].append(f"u{i % 11}")
        rows["prompt"].append(f"Say {rng.randint(0, 99)}:")
        rows["completions"].append([_vowel_string(rng, length, c) for c in counts])
        rows["ranks"].append(ranks)
        rows["has_ties"].append(len(set(ranks)) < len(ranks))
    return rows


def vowel_ranking(
    path: str | Path, k: int = 4, n_train: int = 256, n_val: int = 64, seed: int = 0, **kw
) -> Path:
    return save_dataset_dict(
        path,
        "ranking",
        {
            "train": vowel_ranking_rows(n_train, k, seed, **kw),
            "validation": vowel_ranking_rows(n_val, k, seed + 1000, **kw),
            "test": vowel_ranking_rows(8, k, seed + 2000, **kw),
        },
    )


def ppo_prompts(path: str | Path, n_train: int = 128, n_val: int = 16, seed: int = 0) -> Path:
    def rows(n: int, s: int) -> dict[str, list]:
        rng = random.Random(s)
        return {
            "id": [f"p{s}-{i}" for i in range(n)],
            "user_id": [f"u{i % 7}" for i in range(n)],
            "prompt": [f"Say {rng.randint(0, 99)}:" for _ in range(n)],
        }

    return save_dataset_dict(
        path,
        "ppo",
        {
            "train": rows(n_train, seed),
            "validation": rows(n_val, seed + 1000),
            "test": rows(4, seed + 2000),
        },
    )
