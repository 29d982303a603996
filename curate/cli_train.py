"""``curate train sft|rm|ppo``: the bundled trainers behind the curate CLI.

The options live once, in each trainer's config dataclass (``trainers.sft.SFTArgs`` …); these
commands hand their arguments straight to the same ``trainers.<stage>.main`` that
``python -m trainers.<stage>`` (and ``torchrun -m trainers.<stage>``) runs, so both entry points
accept exactly the same flags. torch is imported only when a command runs.
"""

from __future__ import annotations

import importlib

import click

_PASS = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}

STAGES = {
    "sft": "Stage 1: supervised fine-tuning on an sft dataset (--data).",
    "rm": "Stage 2: K-way reward model on a ranking/pairs dataset (--data, --init SFT checkpoint).",
    "ppo": "Stage 3: PPO(-ptx) with --prompts (ppo dataset), --policy (SFT) and --reward (RM).",
}


@click.group("train")
def train() -> None:
    """Train on built datasets: SFT -> reward model -> PPO (torch; CPU, GPU or torchrun).

    Each subcommand takes the options of ``python -m trainers.<stage>``; see
    ``curate train <stage> --help``.
    """


def _make(stage: str, help_text: str) -> click.Command:
    @click.command(
        stage,
        context_settings=_PASS,
        help=help_text + " Run with --help for all options.",
        add_help_option=False,
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def cmd(args: tuple[str, ...]) -> None:
        try:
            mod = importlib.import_module(f"trainers.{stage}")
        except ImportError as e:  # torch is an optional extra
            raise click.ClickException(
                f"training needs the 'train' extra (pip install 'curate[train]'): {e}"
            ) from e
        mod.main([*args], prog=f"curate train {stage}")

    return cmd


for _stage, _help in STAGES.items():
    train.add_command(_make(_stage, _help))
