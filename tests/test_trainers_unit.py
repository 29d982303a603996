"""Unit tests of the trainer building blocks (tokenizer, batching, losses, model, checkpoints)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
datasets = pytest.importorskip("datasets")

import torch.nn.functional as F  # noqa: E402

from trainers import checkpoint as ckpt  # noqa: E402
from trainers.common import cosine_lr, make_optimizer  # noqa: E402
from trainers.data import (  # noqa: E402
    RankExample,
    StepPlan,
    collate_ranking,
    collate_sft,
    detect_kind,
    load_split,
    tokenize_ranking,
    tokenize_sft,
)
from trainers.model import GPT, GPTConfig  # noqa: E402
from trainers.rm import group_scores, ranking_loss_sum  # noqa: E402
from trainers.sft import sft_loss_sum  # noqa: E402
from trainers.tokenizer import ByteTokenizer, encode_pair  # noqa: E402

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
TINY = GPTConfig(block_size=48, n_layer=2, n_head=2, n_embd=32)


def features(kind: str) -> datasets.Features:
    return datasets.Features.from_dict(json.loads((SCHEMAS / f"{kind}.json").read_text()))


def test_tokenizer_round_trip_and_layout(tmp_path):
    tok = ByteTokenizer()
    ids, n_prompt = encode_pair(tok, "héllo?", "wörld", block_size=64)
    assert (
        ids[0] == tok.prompt_id and ids[n_prompt - 1] == tok.response_id and ids[-1] == tok.eos_id
    )
    assert tok.decode(ids[:n_prompt]) == "héllo?"
    assert tok.decode(ids[n_prompt:]) == "wörld"
    tok.save(tmp_path / "tok.json")
    assert ByteTokenizer.load(tmp_path / "tok.json") == tok
    # a long prompt is cut from the left and never takes more than half the block
    ids, n_prompt = encode_pair(tok, "x" * 500, "answer", block_size=32)
    assert len(ids) <= 32 and tok.decode(ids[n_prompt:]) == "answer"


def test_prompt_tokens_carry_no_loss():
    tok = ByteTokenizer()
    ex = [
        tokenize_sft({"prompt": ["What is 2+2?"], "completion": ["4"]}, tok, 64)[0],
        tokenize_sft({"prompt": ["Hi"], "completion": ["Hello there"]}, tok, 64)[0],
    ]
    b = collate_sft(ex, tok.pad_id)
    y = b["labels"]
    # targets are exactly the completion bytes + EOS of each row; prompt and padding are ignored
    for row, e in zip(y, ex, strict=True):
        kept = row[row != -100].tolist()
        assert kept == e.ids[e.n_prompt :].tolist()
    assert int(b["n_tokens"]) == 2 + len("Hello there") + 1
    # changing the prompt's ids leaves the loss's gradient w.r.t. the prompt logits at zero
    torch.manual_seed(0)
    model = GPT(TINY)
    logits, _ = model(b["input_ids"])
    logits.retain_grad()
    F.cross_entropy(
        logits.view(-1, logits.shape[-1]), y.view(-1), ignore_index=-100, reduction="sum"
    ).backward()
    n_p = ex[0].n_prompt
    assert logits.grad[0, : n_p - 1].abs().sum() == 0  # positions predicting prompt tokens
    assert logits.grad[0, n_p - 1].abs().sum() > 0  # the <|response|> position predicts the answer
    assert torch.allclose(
        sft_loss_sum(model, b, torch.device("cpu")),
        F.cross_entropy(
            logits.view(-1, logits.shape[-1]), y.view(-1), ignore_index=-100, reduction="sum"
        ),
    )


def test_step_plan_same_global_batches_for_any_world_size():
    one = StepPlan(100, micro_batch=4, grad_accum=2, world_size=1, rank=0, seed=3)
    two = [
        StepPlan(100, micro_batch=2, grad_accum=2, world_size=2, rank=r, seed=3) for r in range(2)
    ]
    for step in range(one.steps_per_epoch * 2):
        a = sorted(i for mb in one.micro_batches(step) for i in mb)
        b = sorted(i for p in two for mb in p.micro_batches(step) for i in mb)
        assert a == b and len(set(a)) == 8
    # an epoch visits every example at most once
    seen = [i for s in range(one.steps_per_epoch) for mb in one.micro_batches(s) for i in mb]
    assert len(seen) == len(set(seen))
    with pytest.raises(ValueError):
        StepPlan(3, micro_batch=4, grad_accum=1, world_size=1, rank=0, seed=0)


def test_ranking_pairs_ties_and_mixed_k():
    batch = [
        RankExample(
            [np.arange(3), np.arange(4), np.arange(5), np.arange(2)], [0, 1, 2, 3]
        ),  # 6 pairs
        RankExample([np.arange(3), np.arange(3), np.arange(6)], [0, 0, 1]),  # tie skipped: 2 pairs
        RankExample([np.arange(3), np.arange(3)], [0, 0]),  # all tied: no pairs, no group
    ]
    b = collate_ranking(batch, pad_id=259)
    assert b["input_ids"].shape == (9, 6)
    assert len(b["win"]) == 8 and int(b["n_groups"]) == 2
    assert torch.allclose(b["pair_w"][:6], torch.full((6,), 1 / 6))
    assert torch.allclose(b["pair_w"][6:], torch.full((2,), 1 / 2))
    assert b["last"].tolist() == [2, 3, 4, 1, 2, 2, 5, 2, 2]
    # winners always have the better (lower) rank
    ranks = [r for e in batch for r in e.ranks]
    assert all(
        ranks[w] < ranks[lo] for w, lo in zip(b["win"].tolist(), b["lose"].tolist(), strict=True)
    )


def test_kway_and_pairwise_losses_agree():
    torch.manual_seed(0)
    model = GPT(GPTConfig(**{**TINY.__dict__, "scalar_head": True}))
    tok = ByteTokenizer()
    ds = {
        "prompt": ["a", "bb"],
        "completions": [["x", "yy", "zzz", "w"], ["p", "qq", "r"]],
        "ranks": [[0, 1, 2, 3], [0, 1, 1]],
    }
    ex = tokenize_ranking(
        datasets.Dataset.from_dict(
            {**ds, "id": ["1", "2"], "user_id": ["u", "v"], "has_ties": [False, True]},
            features=features("ranking"),
        ),
        tok,
        48,
    )
    b = collate_ranking(ex, tok.pad_id)
    dev = torch.device("cpu")
    k = ranking_loss_sum(*group_scores(model, b, dev, pairwise=False), b["pair_w"])
    p = ranking_loss_sum(*group_scores(model, b, dev, pairwise=True), b["pair_w"])
    assert torch.allclose(k, p, atol=1e-5)
    # by hand for the first group: −1/6 Σ log σ(r_w − r_l)
    r = [model(torch.tensor([e]))[1][0, -1] for e in (s.tolist() for s in ex[0].seqs)]
    manual = -sum(F.logsigmoid(r[i] - r[j]) for i in range(4) for j in range(i + 1, 4)) / 6
    rw, rl = group_scores(model, b, dev, pairwise=False)
    assert torch.allclose(ranking_loss_sum(rw[:6], rl[:6], b["pair_w"][:6]), manual, atol=1e-5)


def test_left_padding_matches_unpadded():
    torch.manual_seed(0)
    model = GPT(TINY).eval()
    a = torch.tensor([[256, 5, 6, 7, 257]])
    padded = torch.tensor([[259, 259, 256, 5, 6, 7, 257]])
    mask = torch.tensor([[0, 0, 1, 1, 1, 1, 1]])
    la, _ = model(a)
    lp, _ = model(padded, mask)
    assert torch.allclose(la, lp[:, 2:], atol=1e-5)


def test_checkpoint_reloads_to_identical_outputs(tmp_path):
    torch.manual_seed(0)
    model = GPT(GPTConfig(**{**TINY.__dict__, "scalar_head": True}))
    x = torch.randint(0, 256, (3, 20))
    before = model(x)
    ckpt.save_checkpoint(tmp_path / "c", model, ByteTokenizer(), "rm", {"note": 1})
    loaded, tok, meta = ckpt.load_model_from(tmp_path / "c")
    after = loaded(x)
    assert torch.equal(before[0], after[0]) and torch.equal(before[1], after[1])
    assert meta["stage"] == "rm" and tok == ByteTokenizer()
    assert loaded.lm_head.weight.data_ptr() == loaded.wte.weight.data_ptr()  # tying survives
    # an SFT checkpoint loads as an RM (fresh head) and an RM as a policy (head dropped)
    assert ckpt.load_model_from(tmp_path / "c", scalar_head=False)[0].scalar_head is None


def test_optimizer_decays_only_2d_weights():
    model = GPT(TINY)
    optim = make_optimizer(model, 1e-3, 0.1)
    decay, no_decay = optim.param_groups
    assert all(p.dim() == 2 for p in decay["params"]) and decay["weight_decay"] == 0.1
    assert all(p.dim() < 2 for p in no_decay["params"]) and no_decay["weight_decay"] == 0.0
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_cosine_schedule():
    assert cosine_lr(0, 100, 1.0, 10) == pytest.approx(0.1)
    assert cosine_lr(9, 100, 1.0, 10) == pytest.approx(1.0)
    assert cosine_lr(100, 100, 1.0, 10, 0.1) == pytest.approx(0.1)
    assert cosine_lr(55, 100, 1.0, 10, 0.0) == pytest.approx(0.5)


def test_reads_built_layout_and_detects_kinds(tmp_path):
    rows = {"prompt": ["p"], "chosen": ["good"], "rejected": ["bad"], "group_id": ["g"]}
    dd = datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(rows, features=features("pairs"))}
    )
    dd.save_to_disk(str(tmp_path / "pairs"))
    ds = load_split(tmp_path / "pairs", "train")
    assert detect_kind(ds) == "pairs"
    ex = tokenize_ranking(ds, ByteTokenizer(), 32)
    assert ex[0].ranks == [0, 1] and ByteTokenizer().decode(ex[0].seqs[0].tolist()).endswith("good")
    for kind, cols in {
        "sft": {"prompt": ["p"], "completion": ["c"]},
        "ppo": {"prompt": ["p"]},
    }.items():
        full = {c: ["x"] for c in features(kind)} | cols
        assert detect_kind(datasets.Dataset.from_dict(full, features=features(kind))) == kind
