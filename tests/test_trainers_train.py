"""End-to-end trainer runs on tiny models and generated data (CPU, a few seconds each)."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("datasets")

from trainers import synthetic  # noqa: E402
from trainers.checkpoint import load_model_from  # noqa: E402
from trainers.ppo import PPOArgs, train_ppo  # noqa: E402
from trainers.rm import RMArgs, train_rm  # noqa: E402
from trainers.sft import SFTArgs, train_sft  # noqa: E402

FAST = {"preset": "nano", "num_workers": 0, "progress": False, "quiet": True, "device": "cpu"}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A letters-answering SFT policy and a 'more vowels is better' RM, shared by several tests."""
    d = tmp_path_factory.mktemp("toy")
    synthetic.save_dataset_dict(
        d / "letters",
        "sft",
        {
            "train": synthetic.letters_sft_rows(256, 0),
            "validation": synthetic.letters_sft_rows(32, 1),
        },
    )
    synthetic.vowel_ranking(d / "ranking", k=4, ties=True)
    synthetic.ppo_prompts(d / "prompts")
    sft = train_sft(
        SFTArgs(
            data=str(d / "letters"),
            out=str(d / "sft"),
            block_size=32,
            max_steps=60,
            micro_batch=16,
            lr=3e-3,
            warmup=5,
            samples=0,
            **FAST,
        )
    )
    rm = train_rm(
        RMArgs(
            data=str(d / "ranking"),
            init=str(d / "sft"),
            demos=str(d / "letters"),
            out=str(d / "rm"),
            max_steps=40,
            micro_batch=8,
            lr=3e-3,
            warmup=5,
            **FAST,
        )
    )
    return d, sft, rm


def test_sft_loss_falls_on_bundled_sample(tmp_path):
    synthetic.sample_sft(tmp_path / "sft", n_train=256, n_val=64)
    h = train_sft(
        SFTArgs(
            data=str(tmp_path / "sft"),
            out=str(tmp_path / "ck"),
            block_size=64,
            max_steps=50,
            micro_batch=16,
            lr=3e-3,
            warmup=5,
            eval_every=25,
            samples=1,
            sample_tokens=16,
            **FAST,
        )
    )
    first, last = sum(h["loss"][:5]) / 5, sum(h["loss"][-5:]) / 5
    assert last < 0.6 * first, (first, last)
    assert h["val"][-1][1] < h["val"][0][1]  # validation loss falls too
    assert h["samples"] and isinstance(h["samples"][0]["completion"], str)
    lines = [json.loads(x) for x in (tmp_path / "ck" / "log.jsonl").read_text().splitlines()]
    assert sum("loss" in r and "tok_s" in r for r in lines) == 50  # one log record per step
    assert (tmp_path / "ck" / "model.safetensors").exists() and (
        tmp_path / "ck" / "tokenizer.json"
    ).exists()


def test_rm_learns_synthetic_preference(toy):
    _, _, h = toy
    assert h["final_val_accuracy"] >= 0.9
    assert h["loss"][-1] < h["loss"][0]
    # demonstrations are normalised to mean score 0, as in the paper
    assert abs(h["demo_mean_after"]) < 1e-3 and abs(h["demo_mean_before"]) > 1e-3


def test_rm_on_pairs_dataset(tmp_path):
    rows = synthetic.vowel_ranking_rows(128, 2, seed=5)
    pairs = {
        "prompt": rows["prompt"],
        "chosen": [c[0] for c in rows["completions"]],
        "rejected": [c[1] for c in rows["completions"]],
        "group_id": rows["id"],
    }
    vrows = synthetic.vowel_ranking_rows(32, 2, seed=6)
    vpairs = {
        "prompt": vrows["prompt"],
        "chosen": [c[0] for c in vrows["completions"]],
        "rejected": [c[1] for c in vrows["completions"]],
        "group_id": vrows["id"],
    }
    synthetic.save_dataset_dict(tmp_path / "pairs", "pairs", {"train": pairs, "validation": vpairs})
    h = train_rm(
        RMArgs(
            data=str(tmp_path / "pairs"),
            block_size=32,
            max_steps=30,
            micro_batch=8,
            lr=3e-3,
            warmup=3,
            **FAST,
        )
    )
    assert h["final_val_accuracy"] >= 0.9


KL_BOUND = (
    8.0  # nats per response (sum over tokens of log π − log π_SFT), measured on held-out prompts
)


def test_ppo_raises_reward_with_bounded_kl(toy, tmp_path):
    d, _, _ = toy
    h = train_ppo(
        PPOArgs(
            prompts=str(d / "prompts"),
            policy=str(d / "sft"),
            reward=str(d / "rm"),
            ptx_data=str(d / "letters"),
            ptx_coef=0.5,
            out=str(tmp_path / "ppo"),
            max_steps=30,
            rollout_batch=16,
            max_new_tokens=12,
            lr=1e-3,
            kl_coef=0.05,
            eval_prompts=32,
            seed=1,
            **FAST,
        )
    )
    before, after = h["eval_before"], h["eval_after"]
    print("PPO toy: before", before, "after", after)
    assert after["score"] > before["score"] + 1.0, (before, after)
    assert sum(h["score"][-3:]) / 3 > sum(h["score"][:3]) / 3
    assert after["kl"] < KL_BOUND, after
    for key in ("kl", "entropy", "clip_frac", "ptx_loss"):
        assert len(h[key]) == 30
    policy, _, meta = load_model_from(tmp_path / "ppo")
    assert meta["stage"] == "ppo" and policy.scalar_head is None
    assert (tmp_path / "ppo" / "value" / "model.safetensors").exists()


def test_resume_replays_identical_trajectory(tmp_path):
    synthetic.sample_sft(tmp_path / "sft", n_train=64, n_val=8)
    common = dict(
        data=str(tmp_path / "sft"),
        block_size=48,
        micro_batch=8,
        lr=3e-3,
        warmup=2,
        samples=0,
        seed=7,
        max_steps=8,
        **FAST,
    )
    full = train_sft(SFTArgs(out=str(tmp_path / "full"), **common))
    # stop after 4 of the 8 steps (same LR schedule), then resume from the saved trainer state
    part = train_sft(SFTArgs(out=str(tmp_path / "half"), stop_after=4, **common))
    resumed = train_sft(SFTArgs(out=str(tmp_path / "half"), resume=True, **common))
    assert part["loss"] == full["loss"][:4]
    assert resumed["step"] == [5, 6, 7, 8]
    assert resumed["loss"] == pytest.approx(full["loss"][4:], abs=1e-6)


def test_grad_accumulation_matches_big_batch(tmp_path):
    synthetic.sample_sft(tmp_path / "sft", n_train=64, n_val=8)
    common = dict(
        data=str(tmp_path / "sft"), block_size=48, lr=3e-3, warmup=2, samples=0, max_steps=5, **FAST
    )
    big = train_sft(SFTArgs(micro_batch=8, grad_accum=1, **common))
    acc = train_sft(SFTArgs(micro_batch=2, grad_accum=4, **common))
    assert acc["loss"] == pytest.approx(big["loss"], abs=1e-4)


def test_cli_train_help_and_run(tmp_path):
    click_testing = pytest.importorskip("click.testing")
    from curate.cli_train import train

    runner = click_testing.CliRunner()
    res = runner.invoke(train, ["--help"])
    assert res.exit_code == 0 and "sft" in res.output and "ppo" in res.output
    synthetic.sample_sft(tmp_path / "sft", n_train=32, n_val=8)
    res = runner.invoke(
        train,
        [
            "sft",
            "--data",
            str(tmp_path / "sft"),
            "--out",
            str(tmp_path / "ck"),
            "--preset",
            "nano",
            "--block-size",
            "32",
            "--max-steps",
            "2",
            "--micro-batch",
            "4",
            "--num-workers",
            "0",
            "--no-progress",
            "--samples",
            "0",
            "--device",
            "cpu",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "ck" / "config.json").exists()
