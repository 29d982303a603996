"""Write a built dataset: ``datasets`` Arrow (``save_to_disk``), Hub-layout Parquet and a card.

One folder per dataset kind::

    OUT/dataset_dict.json, OUT/<split>/...        load_from_disk(OUT)
    OUT/data/<split>-00000-of-00001.parquet       load_dataset(OUT) via the card's `configs`
    OUT/README.md                                 dataset card
    OUT/stats.json                                build counts + the curation history

The folder is written to a temporary sibling and renamed, so it never exists half-written.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import polars as pl

from curate.build import card
from curate.io.writers import atomic_path

DEFAULT_SHARD_BYTES = 500 * 2**20


def dataset_features(kind: str, chat: bool):
    """``datasets.Features`` of a kind from ``schemas/``; ``--chat`` adds ``messages``."""
    import datasets

    from curate.schemas import features

    feats = features(kind)
    if chat:
        feats = datasets.Features(
            {
                **feats,
                "messages": datasets.List(
                    {"role": datasets.Value("string"), "content": datasets.Value("string")}
                ),
            }
        )
    return feats


def _features_yaml(
    feats, config_name: str, split_rows: dict[str, int], split_bytes: dict[str, int]
) -> dict[str, Any]:
    import datasets
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCardData

    info = datasets.DatasetInfo(
        features=feats,
        splits=datasets.SplitDict(
            {
                name: datasets.SplitInfo(name, num_bytes=split_bytes[name], num_examples=rows)
                for name, rows in split_rows.items()
            }
        ),
    )
    data = DatasetCardData()
    DatasetInfosDict({config_name: info}).to_dataset_card_data(data)
    entry = data.to_dict()["dataset_info"]
    return entry[0] if isinstance(entry, list) else entry


def write_dataset(
    kind: str,
    parts: dict[str, pl.DataFrame],
    out: Path,
    stats: dict[str, Any],
    split_stats: dict[str, Any] | None,
    chat: bool = False,
    license_id: str = "other",
    language: tuple[str, ...] = ("en",),
    shard_bytes: int = DEFAULT_SHARD_BYTES,
) -> list[str]:
    """Write the DatasetDict, its Parquet shards, the card and ``stats.json``; return the files."""
    import datasets

    datasets.disable_progress_bars()  # curate reports progress itself
    feats = dataset_features(kind, chat)
    schema = feats.arrow_schema
    written: list[str] = []
    with atomic_path(out, is_dir=True) as tmp:
        splits, split_bytes = {}, {}
        for name, frame in parts.items():
            table = (
                frame.select(list(feats))
                .to_arrow(compat_level=pl.CompatLevel.oldest())
                .cast(schema)
            )
            shards = max(1, math.ceil(table.nbytes / shard_bytes))
            digest = hashlib.sha256(f"{kind}/{name}".encode())
            for index in range(shards):
                relative = Path("data") / f"{name}-{index:05d}-of-{shards:05d}.parquet"
                piece = datasets.Dataset(
                    table, info=datasets.DatasetInfo(features=feats), split=name
                )
                piece.shard(shards, index, contiguous=True).to_parquet(str(tmp / relative))
                digest.update((tmp / relative).read_bytes())
                written.append(str(relative))
            # a content fingerprint keeps state.json (and so the whole folder) identical across reruns
            splits[name] = datasets.Dataset(
                table,
                info=datasets.DatasetInfo(features=feats),
                split=name,
                fingerprint=digest.hexdigest()[:16],
            )
            split_bytes[name] = table.nbytes
        datasets.DatasetDict(splits).save_to_disk(str(tmp))
        rows = {name: part.height for name, part in parts.items()}
        meta = card.metadata(
            kind, rows, _features_yaml(feats, kind, rows, split_bytes), license_id, list(language)
        )
        title = f"curate {kind} dataset"
        (tmp / "README.md").write_text(
            card.render(meta, card.body(kind, title, split_stats, stats)), encoding="utf-8"
        )
        (tmp / "stats.json").write_text(
            json.dumps(stats, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
        )
    return [str(out / w) for w in written] + [str(out / "README.md")]
