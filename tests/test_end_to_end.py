"""The whole product on the bundled sample: recipe -> built datasets -> SFT -> RM -> PPO, no conversion."""

import pytest

torch = pytest.importorskip("torch")

from curate.pipeline import default_recipe, run_pipeline  # noqa: E402
from trainers.ppo import PPOArgs, train_ppo  # noqa: E402
from trainers.rm import RMArgs, train_rm  # noqa: E402
from trainers.sft import SFTArgs, train_sft  # noqa: E402

FAST = {
    "preset": "nano",
    "num_workers": 0,
    "progress": False,
    "quiet": True,
    "device": "cpu",
    "block_size": 96,
}


def test_recipe_outputs_train_all_three_stages(tmp_path):
    stats = run_pipeline(default_recipe(), str(tmp_path / "run"))
    assert [s["step"] for s in stats][:5] == ["import oasst", "dedup", "cap", "pii", "split"]
    built = tmp_path / "run" / "datasets"
    sft = train_sft(
        SFTArgs(
            data=str(built / "sft"),
            out=str(tmp_path / "sft"),
            max_steps=40,
            micro_batch=8,
            lr=3e-3,
            warmup=4,
            samples=0,
            **FAST,
        )
    )
    first, last = sum(sft["loss"][:5]) / 5, sum(sft["loss"][-5:]) / 5
    assert last < 0.8 * first, (first, last)  # SFT loss falls on the bundled sample
    rm = train_rm(
        RMArgs(
            data=str(built / "ranking"),
            init=str(tmp_path / "sft"),
            demos=str(built / "sft"),
            out=str(tmp_path / "rm"),
            max_steps=6,
            micro_batch=4,
            **FAST,
        )
    )
    assert rm["loss"] and all(
        loss == loss for loss in rm["loss"]
    )  # ran on K-way rows, finite losses
    ppo = train_ppo(
        PPOArgs(
            prompts=str(built / "ppo"),
            policy=str(tmp_path / "sft"),
            reward=str(tmp_path / "rm"),
            ptx_data=str(built / "sft"),
            out=str(tmp_path / "ppo"),
            max_steps=2,
            rollout_batch=4,
            max_new_tokens=8,
            eval_prompts=4,
            **FAST,
        )
    )
    assert ppo["score"] and ppo["kl"]
