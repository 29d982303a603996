"""Built datasets (``save_to_disk`` folders) -> tokenised examples -> padded torch batches.

The trainers read ``curate build`` output directly: ``sft``, ``ranking``, ``pairs`` and ``ppo``
DatasetDicts. Tokenisation happens once up front (byte encoding is cheap); batching is a
deterministic plan of *global* batches that is cut into per-rank micro-batches, so 1 process and
N processes with the same global batch see exactly the same examples per optimizer step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from .tokenizer import ByteTokenizer, encode_pair

KIND_COLUMNS = {
    "ranking": {"prompt", "completions", "ranks"},
    "pairs": {"prompt", "chosen", "rejected"},
    "sft": {"prompt", "completion"},
    "ppo": {"prompt"},
}


def load_split(path: str | Path, split: str):
    """One split of a DatasetDict folder (or a single Dataset folder when ``split`` is absent)."""
    import datasets

    obj = datasets.load_from_disk(str(path))
    if isinstance(obj, datasets.DatasetDict):
        if split not in obj:
            raise KeyError(f"{path}: no split {split!r} (has {list(obj)})")
        return obj[split]
    return obj


def has_split(path: str | Path, split: str) -> bool:
    import datasets

    obj = datasets.load_from_disk(str(path))
    return isinstance(obj, datasets.DatasetDict) and split in obj and len(obj[split]) > 0


def detect_kind(ds) -> str:
    """Which dataset kind a split is, from its columns (most specific first)."""
    cols = set(ds.column_names)
    for kind, need in KIND_COLUMNS.items():
        if need <= cols:
            return kind
    raise ValueError(f"cannot tell the dataset kind from columns {sorted(cols)}")


def require_kind(ds, allowed: Sequence[str], what: str) -> str:
    kind = detect_kind(ds)
    if kind not in allowed:
        raise ValueError(f"{what}: expected a {' or '.join(allowed)} dataset, got {kind!r}")
    return kind


# --------------------------------------------------------------------------- tokenisation


@dataclass
class SFTExample:
    ids: np.ndarray  # int32, prompt + completion (+eos)
    n_prompt: int  # leading ids that carry no loss


@dataclass
class RankExample:
    seqs: list[np.ndarray]  # one id array per completion, best first
    ranks: list[int]  # 0 = best; equal ranks are ties and form no pair


def tokenize_sft(ds, tok: ByteTokenizer, block_size: int) -> list[SFTExample]:
    out = []
    for p, c in zip(ds["prompt"], ds["completion"], strict=True):
        ids, n_p = encode_pair(tok, p, c, block_size)
        out.append(SFTExample(np.asarray(ids, dtype=np.int32), n_p))
    return out


def tokenize_ranking(ds, tok: ByteTokenizer, block_size: int) -> list[RankExample]:
    """``ranking`` rows as they are; ``pairs`` rows as K=2 groups (chosen rank 0, rejected 1)."""
    kind = detect_kind(ds)
    if kind == "pairs":
        groups = zip(ds["prompt"], zip(ds["chosen"], ds["rejected"], strict=True), strict=True)
        rows = ((p, list(cs), [0, 1]) for p, cs in groups)
    elif kind == "ranking":
        rows = zip(ds["prompt"], ds["completions"], ds["ranks"], strict=True)
    else:
        raise ValueError(f"expected a ranking or pairs dataset, got {kind!r}")
    out = []
    for p, comps, ranks in rows:
        if len(comps) != len(ranks) or len(comps) < 2:
            raise ValueError("each ranking row needs K>=2 completions and one rank per completion")
        seqs = [np.asarray(encode_pair(tok, p, c, block_size)[0], dtype=np.int32) for c in comps]
        out.append(RankExample(seqs, [int(r) for r in ranks]))
    return out


def tokenize_prompts(ds, tok: ByteTokenizer, max_len: int) -> list[np.ndarray]:
    return [np.asarray(tok.encode_prompt(p, max_len=max_len), dtype=np.int32) for p in ds["prompt"]]


# --------------------------------------------------------------------------- collation


def collate_sft(batch: list[SFTExample], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded inputs and next-token labels; prompt and pad targets are -100 (no loss)."""
    t = max(len(e.ids) for e in batch) - 1
    x = np.full((len(batch), t), pad_id, dtype=np.int64)
    y = np.full((len(batch), t), -100, dtype=np.int64)
    for i, e in enumerate(batch):
        n = len(e.ids) - 1
        x[i, :n] = e.ids[:-1]
        y[i, :n] = e.ids[1:]
        y[i, : max(e.n_prompt - 1, 0)] = -100  # target j is ids[j+1]: prompt ids carry no loss
    labels = torch.from_numpy(y)
    return {"input_ids": torch.from_numpy(x), "labels": labels, "n_tokens": (labels != -100).sum()}


def collate_ranking(batch: list[RankExample], pad_id: int) -> dict[str, torch.Tensor]:
    """Flatten the K completions of every group into one right-padded batch.

    ``last`` is each sequence's final position (where the reward is read). ``win``/``lose`` index
    the flattened rows of every strictly ordered pair; ``pair_w`` = 1 / (pairs in its group) so
    summing gives each group's mean (−1/C(K,2)·Σ log σ when there are no ties). ``n_groups``
    counts groups with at least one pair; all-tied groups contribute nothing.
    """
    seqs = [s for e in batch for s in e.seqs]
    t = max(len(s) for s in seqs)
    x = np.full((len(seqs), t), pad_id, dtype=np.int64)
    last = np.empty(len(seqs), dtype=np.int64)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = s
        last[i] = len(s) - 1
    win, lose, weight, group = [], [], [], []
    base, n_groups = 0, 0
    for g, e in enumerate(batch):
        pairs = [
            (base + i, base + j) if e.ranks[i] < e.ranks[j] else (base + j, base + i)
            for i, j in combinations(range(len(e.seqs)), 2)
            if e.ranks[i] != e.ranks[j]
        ]
        if pairs:
            n_groups += 1
            for w, lo in pairs:
                win.append(w)
                lose.append(lo)
                weight.append(1.0 / len(pairs))
                group.append(g)
        base += len(e.seqs)
    return {
        "input_ids": torch.from_numpy(x),
        "last": torch.from_numpy(last),
        "win": torch.tensor(win, dtype=torch.long),
        "lose": torch.tensor(lose, dtype=torch.long),
        "pair_w": torch.tensor(weight, dtype=torch.float32),
        "n_groups": torch.tensor(n_groups),
        "n_seqs": torch.tensor(len(seqs)),
    }


def collate_prompts(batch: list[np.ndarray], pad_id: int) -> dict[str, torch.Tensor]:
    """Left-padded prompts (generation appends on the right) with their attention mask."""
    t = max(len(p) for p in batch)
    x = np.full((len(batch), t), pad_id, dtype=np.int64)
    m = np.zeros((len(batch), t), dtype=np.int64)
    for i, p in enumerate(batch):
        x[i, t - len(p) :] = p
        m[i, t - len(p) :] = 1
    return {"input_ids": torch.from_numpy(x), "attention_mask": torch.from_numpy(m)}


# --------------------------------------------------------------------------- batching plan


@dataclass(frozen=True)
class StepPlan:
    """Which example indices each rank uses in each micro-step of each optimizer step.

    A global batch of ``micro_batch * grad_accum * world_size`` examples is drawn per step from a
    permutation seeded by ``(seed, epoch)``; rank ``r`` takes micro-batch ``m * world + r``. The
    plan depends only on the global batch, so resuming at step ``s`` or changing the process
    count (with the same global batch) replays the same examples.
    """

    n_examples: int
    micro_batch: int
    grad_accum: int
    world_size: int
    rank: int
    seed: int
    shuffle: bool = True

    @property
    def global_batch(self) -> int:
        return self.micro_batch * self.grad_accum * self.world_size

    @property
    def steps_per_epoch(self) -> int:
        return self.n_examples // self.global_batch

    def __post_init__(self) -> None:
        if self.steps_per_epoch == 0:
            raise ValueError(
                f"{self.n_examples} examples cannot fill one global batch of {self.global_batch} "
                "(micro_batch x grad_accum x world_size); lower the batch size"
            )

    def _order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.n_examples)
        g = np.random.default_rng([self.seed, epoch])
        return g.permutation(self.n_examples)

    def micro_batches(self, step: int) -> list[list[int]]:
        epoch, k = divmod(step, self.steps_per_epoch)
        chunk = self._order(epoch)[k * self.global_batch : (k + 1) * self.global_batch]
        out = []
        for m in range(self.grad_accum):
            j = (m * self.world_size + self.rank) * self.micro_batch
            out.append(chunk[j : j + self.micro_batch].tolist())
        return out

    def iter_micro(self, start: int, stop: int) -> Iterator[list[int]]:
        for s in range(start, stop):
            yield from self.micro_batches(s)


def shard_indices(n: int, rank: int, world_size: int, batch: int) -> list[list[int]]:
    """Evaluation batches for this rank: a strided shard, no shuffling, nothing dropped."""
    idx = list(range(rank, n, world_size))
    return [idx[i : i + batch] for i in range(0, len(idx), batch)]


class _ListDataset(torch.utils.data.Dataset):
    def __init__(self, items: list) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        return self.items[i]


def make_loader(
    items: list,
    batches: Iterator[list[int]] | list[list[int]],
    collate,
    num_workers: int = 0,
    prefetch: int = 4,
) -> DataLoader:
    """A DataLoader over precomputed index batches; workers collate ahead of the GPU/CPU step."""
    kwargs = {}
    if num_workers > 0:
        kwargs = {"prefetch_factor": prefetch, "persistent_workers": False}
    return DataLoader(
        _ListDataset(items),
        batch_sampler=_Batches(batches),
        collate_fn=collate,
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available(),
        **kwargs,
    )


class _Batches(torch.utils.data.Sampler):
    def __init__(self, batches) -> None:
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)
