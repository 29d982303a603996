"""Per-step stats files (``<output>.stats.json``): the audit trail of a curation run.

They hold counts, reasons, options, input fingerprints and timings, never row contents. Each file
embeds the stats of its input (when the input was written by curate), so the last file of a
pipeline carries the whole history that ``curate build`` writes into the dataset card.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate import __version__
from curate.io.writers import write_json


def stats_path(output: str | os.PathLike) -> Path:
    """``<output>.stats.json`` beside the output (a file or a folder)."""
    output = Path(output)
    return output.with_name(output.name + ".stats.json")


def stats_paths(output: str | os.PathLike) -> list[Path]:
    """Where a step writes its stats: beside the output, and inside it when it is a folder, so
    that a split or dataset folder carries its own history when it is moved."""
    output = Path(output)
    paths = [stats_path(output)]
    if output.is_dir():
        paths.append(output / "stats.json")
    return paths


def load_upstream(inputs: list[str]) -> list[dict[str, Any]]:
    """Stats files written by earlier steps for these inputs (empty for raw data)."""
    found = []
    for path in inputs:
        for candidate in reversed(stats_paths(path)):
            if candidate.is_file():
                try:
                    found.append(json.loads(candidate.read_text(encoding="utf-8")))
                    break
                except (OSError, json.JSONDecodeError):
                    continue
    return found


@dataclass
class StepStats:
    """Counts of one step. ``rows_in == rows_kept + removed + rejected`` is checked on save."""

    step: str
    inputs: list[dict[str, Any]]
    outputs: list[str]
    options: dict[str, Any]
    rows_in: int
    rows_kept: int
    removed: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    upstream: list[dict[str, Any]] = field(default_factory=list)

    def check(self) -> None:
        total = self.rows_kept + sum(self.removed.values()) + sum(self.rejected.values())
        if total != self.rows_in:
            raise AssertionError(
                f"{self.step}: counts do not add up: in={self.rows_in} kept={self.rows_kept} "
                f"removed={sum(self.removed.values())} rejected={sum(self.rejected.values())}"
            )

    def to_dict(self) -> dict[str, Any]:
        self.check()
        return {
            "step": self.step,
            "curate_version": __version__,
            "version": __version__,
            "inputs": self.inputs,
            "input_sha256": [entry.get("sha256") for entry in self.inputs],
            "outputs": self.outputs,
            "options": self.options,
            "rows_in": self.rows_in,
            "rows_kept": self.rows_kept,
            "kept": self.rows_kept,
            "removed": dict(sorted(self.removed.items())),
            "rejected": dict(sorted(self.rejected.items())),
            "rows_removed": sum(self.removed.values()),
            "rows_rejected": sum(self.rejected.values()),
            "seconds": round(self.seconds, 3),
            "extra": self.extra,
            "upstream": self.upstream,
        }

    def write(self, output: str | os.PathLike) -> list[Path]:
        """Write the stats of ``output`` (see :func:`stats_paths`)."""
        data = self.to_dict()
        return [write_json(data, path) for path in stats_paths(output)]
