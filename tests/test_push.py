"""curate push against a local fake of the Hub's HTTP API (no real network)."""

import io

import polars as pl
import pytest

from curate.build.card import parse
from curate.build.hub import plan_push, push
from curate.errors import CurateError
from tests.conftest import SAMPLE
from tests.fake_hub import FakeHub
from tests.test_build import build_all


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from click.testing import CliRunner

    from curate.cli import cli

    def run(*args):
        result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output

    return build_all(tmp_path_factory.mktemp("built"), run, SAMPLE, kinds=("sft", "ranking"))


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with FakeHub() as fake:
        yield fake


def test_push_commits_exactly_the_parquet_shards_and_card(built, hub):
    result = push([built / "sft"], "org/curated", token="hf_secret_token", endpoint=hub.url)
    commit = hub.commits[-1]
    expected = sorted(f"sft/{p.name}" for p in (built / "sft" / "data").glob("*.parquet")) + [
        "README.md"
    ]
    assert sorted(commit["added"]) == sorted(expected) == sorted(result["uploaded"])
    for name in expected[:-1]:
        assert commit["added"][name] == (built / "sft" / "data" / name.split("/")[1]).read_bytes()
    meta, _ = parse(commit["added"]["README.md"].decode())
    assert meta["configs"] == [
        {
            "config_name": "sft",
            "data_files": [
                {"split": s, "path": f"sft/{s}-*.parquet"} for s in ("train", "validation", "test")
            ],
        }
    ]
    assert commit["authorization"] == "Bearer hf_secret_token"


def test_second_kind_keeps_the_first_config_and_replaces_stale_shards(built, hub):
    push([built / "sft"], "org/curated", token="t", endpoint=hub.url)
    hub.repos["org/curated@main"]["sft/old-00000-of-00001.parquet"] = b"stale"
    push([built / "ranking"], "org/curated", token="t", endpoint=hub.url)
    files = hub.repos["org/curated@main"]
    meta, body = parse(files["README.md"].decode())
    assert [c["config_name"] for c in meta["configs"]] == ["ranking", "sft"]
    assert "<!-- curate:sft -->" in body and "<!-- curate:ranking -->" in body
    push([built / "sft"], "org/curated", token="t", endpoint=hub.url)
    assert "sft/old-00000-of-00001.parquet" not in hub.repos["org/curated@main"]
    assert hub.commits[-1]["deleted"] == ["sft/old-00000-of-00001.parquet"]
    shard = hub.repos["org/curated@main"]["ranking/train-00000-of-00001.parquet"]
    assert pl.read_parquet(io.BytesIO(shard)).height > 0


def test_private_and_revision(built, hub):
    push(
        [built / "sft"],
        "org/private-one",
        private=True,
        revision="dev",
        token="t",
        endpoint=hub.url,
    )
    assert hub.private["org/private-one"] is True
    assert hub.commits[-1]["repo"] == "org/private-one@dev"


def test_dry_run_lists_files_and_contacts_nothing(built, run_cli):
    out = run_cli(
        "push", built / "sft", built / "ranking", "--repo-id", "org/x", "--dry-run"
    ).output
    plan = plan_push([built / "sft", built / "ranking"])
    for path in plan.paths():
        assert path in out


def test_not_logged_in_and_offline_errors_never_show_the_token(
    built, run_cli, monkeypatch, tmp_path
):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(CurateError, match="not logged in"):
        push([built / "sft"], "org/x", endpoint="http://127.0.0.1:9")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(CurateError, match="cannot reach") as info:
        push([built / "sft"], "org/x", token="hf_do_not_print", endpoint="http://127.0.0.1:9")
    assert "hf_do_not_print" not in str(info.value)
