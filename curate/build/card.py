"""Dataset card (README.md): the Hub's YAML metadata and the curation history from the stats files.

The history is read from the ``stats.json`` chain that every step writes; it holds counts, reasons
and options only, so the card can never carry a row's content (or a PII value).
"""

from __future__ import annotations

from typing import Any

import yaml

SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
]
DESCRIPTIONS = {
    "sft": "Demonstrations for supervised fine-tuning: `prompt` and the labeler-written `completion`.",
    "ranking": "Ranked completions for reward-model training: `completions` holds K >= 2 replies best "
    "first, `ranks` their ranks (equal ranks are ties, `has_ties` marks such rows). All C(K,2) "
    "comparisons of a prompt stay in one row, as InstructGPT trained on them.",
    "pairs": "Pairwise preferences (`prompt`, `chosen`, `rejected`, `group_id`): every ordered comparison "
    "of the ranking rows, ties left out; the explicit-prompt preference format TRL reads.",
    "ppo": "Prompts for PPO rollouts.",
}
_PREAMBLE_KEYS = ("step", "rows_in", "rows_kept", "removed", "rejected", "options")


def size_category(rows: int) -> str:
    for limit, label in SIZE_CATEGORIES:
        if rows < limit:
            return label
    return "n>100M"


def history(stats: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The chain of step stats, first step first (each stats file embeds its input's)."""
    chain = []
    while stats:
        chain.append({k: stats.get(k) for k in _PREAMBLE_KEYS} | {"extra": stats.get("extra", {})})
        upstream = stats.get("upstream") or []
        stats = upstream[0] if upstream else None
    return list(reversed(chain))


def metadata(
    kind: str,
    splits: dict[str, int],
    features_yaml: dict[str, Any],
    license_id: str,
    language: list[str],
    data_dir: str = "data",
) -> dict[str, Any]:
    """YAML front matter in the Hub's dataset-card format: one config, named after the kind."""
    tags = ["curate", "instructgpt", "rlhf"]
    if kind in ("ranking", "pairs"):
        tags += ["preference", "reward-modeling"]
    return {
        "license": license_id,
        "language": language,
        "task_categories": ["text-generation"],
        "tags": tags,
        "size_categories": [size_category(sum(splits.values()))],
        "configs": [
            {
                "config_name": kind,
                "data_files": [
                    {"split": name, "path": f"{data_dir}/{name}-*.parquet"} for name in splits
                ],
            }
        ],
        "dataset_info": [features_yaml],
    }


def _reasons(counts: dict[str, int] | None) -> str:
    if not counts:
        return "–"
    return ", ".join(f"{reason}: {count:,}" for reason, count in counts.items())


def _options(options: dict[str, Any] | None) -> str:
    if not options:
        return "–"
    shown = {k: v for k, v in options.items() if k != "read" and v is not None}
    return ", ".join(f"`{k}={v}`" for k, v in shown.items()) or "–"


def body(kind: str, title: str, split_stats: dict[str, Any] | None, build: dict[str, Any]) -> str:
    """Markdown body: what the dataset is, how each step changed it, split and build counts."""
    lines = [
        f"# {title}",
        "",
        DESCRIPTIONS[kind],
        "",
        "Built with curate "
        "from prompt logs, following the InstructGPT data recipe (Ouyang et al., 2022).",
        "",
    ]
    steps = history(split_stats)
    if steps:
        lines += [
            "## Curation history",
            "",
            "| step | rows in | kept | removed | rejected | options |",
            "|---|---:|---:|---|---|---|",
        ]
        for step in steps:
            lines.append(
                f"| {step['step']} | {step['rows_in']:,} | {step['rows_kept']:,} | {_reasons(step['removed'])} "
                f"| {_reasons(step['rejected'])} | {_options(step['options'])} |"
            )
        lines.append("")
        splits = (split_stats or {}).get("extra", {}).get("splits", {})
        if splits:
            lines += [
                "## Splits (by user)",
                "",
                "No user appears in two splits.",
                "",
                "| split | prompt records | users |",
                "|---|---:|---:|",
            ]
            order = ["train", "validation", "test"]
            for name in sorted(splits, key=lambda n: order.index(n) if n in order else len(order)):
                lines.append(f"| {name} | {splits[name]['rows']:,} | {splits[name]['users']:,} |")
            lines.append("")
    lines += [
        f"## This dataset ({kind})",
        "",
        "| split | rows | prompts used | not eligible |",
        "|---|---:|---:|---|",
    ]
    for name, info in build["extra"]["splits"].items():
        lines.append(
            f"| {name} | {info['rows']:,} | {info['prompts_used']:,} | {_reasons(info['removed'])} |"
        )
    lines.append("")
    return "\n".join(lines)


def render(meta: dict[str, Any], text: str) -> str:
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n" + text


def parse(card: str) -> tuple[dict[str, Any], str]:
    """Split a card into its YAML metadata and body (empty metadata when there is none)."""
    if card.startswith("---\n"):
        end = card.find("\n---", 4)
        if end != -1:
            meta = yaml.safe_load(card[4:end]) or {}
            return meta, card[end + 4 :].lstrip("\n")
    return {}, card
