"""Shared helpers: write small inputs, run the CLI in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from curate.cli import cli

DATA = Path(__file__).parent / "data"
SAMPLE = Path(__file__).parents[1] / "curate" / "data" / "oasst1-en-validation.jsonl.gz"


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    """Rows may be dicts (serialised) or raw strings/bytes (written as they are)."""
    with open(path, "wb") as fh:
        for row in rows:
            if isinstance(row, bytes):
                fh.write(row + b"\n")
            elif isinstance(row, str):
                fh.write(row.encode() + b"\n")
            else:
                fh.write(json.dumps(row).encode() + b"\n")
    return path


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True, scope="session")
def _offline_hub(tmp_path_factory):
    """Tests never touch the network or the user's Hugging Face cache."""
    import os

    home = tmp_path_factory.mktemp("hf_home")
    os.environ.update({"HF_HOME": str(home), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    os.environ.pop("HF_TOKEN", None)
    yield


@pytest.fixture
def run_cli():
    """Invoke ``curate`` in-process; returns the click Result (stdout and stderr separated)."""

    def invoke(*args: str, expect: int | None = 0):
        result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, result.output + result.stderr
        return result

    return invoke
