"""The baselines against their releases' own code, run on one fixed batch.

EAFT and ASFT are released in LLaMA-Factory (PyPI llamafactory 0.9.5, installed by `make install` without
its dependencies: constraints/no-deps.txt). The release's loss functions are read from the installed
llamafactory/train/trainer_utils.py (pinned by its sha256 below) and executed as written, with only torch
in their namespace: the rest of LLaMA-Factory (and its training stack) is never imported. Our methods then
take the same batch the way verl hands it to them (one packed micro-batch, next-token targets, the rolled
loss mask) and must reproduce the release's loss.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from pathlib import Path
from typing import Optional

import pytest
import torch

from curiosft.config import compose_config
from curiosft.methods import build_method
from curiosft.methods.verl_batch import VerlLoss

RELEASE_FILE = "llamafactory/train/trainer_utils.py"
RELEASE_SHA256 = "ff726b2be4a7c24e4c09eb22b0336481dea3a35631076e35bb63a571bf3c9111"  # llamafactory 0.9.5
RELEASE_FUNCTIONS = ("_dft_cross_entropy", "_kl_divergence", "_asft_cross_entropy", "asft_loss_func",
                     "_eaft_cross_entropy", "eaft_loss_func")
IGNORE = -100


@pytest.fixture(scope="module")
def release() -> dict:
    """The release's loss functions, compiled from its installed source file."""
    spec = importlib.util.find_spec("llamafactory")
    assert spec is not None and spec.submodule_search_locations, (
        "llamafactory is not installed: `make install` installs it (constraints/no-deps.txt)")
    path = Path(next(iter(spec.submodule_search_locations))).parent / RELEASE_FILE
    source = path.read_bytes()
    assert hashlib.sha256(source).hexdigest() == RELEASE_SHA256, f"{path} is not llamafactory 0.9.5's file"
    tree = ast.parse(source)
    wanted = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in RELEASE_FUNCTIONS]
    assert sorted(n.name for n in wanted) == sorted(RELEASE_FUNCTIONS)
    namespace = {"torch": torch, "F": torch.nn.functional, "Optional": Optional}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), str(path), "exec"), namespace)  # noqa: S102
    return namespace


def fixed_batch(vocab=40, lengths=(11, 8), seed=7):
    """Two sequences: token ids, a loss mask (prompt tokens 0, answer tokens 1) and logits [tokens, vocab]."""
    g = torch.Generator().manual_seed(seed)
    ids = [torch.randint(0, vocab, (n,), generator=g) for n in lengths]
    masks = [torch.tensor([0] * (n // 3) + [1] * (n - n // 3)) for n in lengths]
    # a spread of sharp and flat rows, so that the entropy weights differ
    logits = [torch.randn(n, vocab, generator=g, dtype=torch.float64) * torch.linspace(0.2, 4.0, n)[:, None]
              for n in lengths]
    return ids, masks, logits


def padded(ids, masks, logits):
    """The release's layout: [batch, time] labels (-100 outside the answer) and [batch, time, vocab] logits."""
    t = max(len(x) for x in ids)
    labels = torch.full((len(ids), t), IGNORE)
    out = torch.zeros(len(ids), t, logits[0].shape[-1], dtype=torch.float64)
    for i, (x, m, z) in enumerate(zip(ids, masks, logits)):
        labels[i, : len(x)] = torch.where(m.bool(), x, torch.tensor(IGNORE))
        out[i, : len(x)] = z
    return labels, out


def packed(ids, masks):
    """verl's layout: one packed micro-batch of jagged input_ids and loss_mask."""
    from verl.utils import tensordict_utils as tu

    lengths = [len(x) for x in ids]
    offsets = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()])
    input_ids = torch.nested.nested_tensor_from_jagged(torch.cat(ids), offsets)
    loss_mask = torch.nested.nested_tensor_from_jagged(torch.cat(masks), offsets)
    tokens = int(sum(int(m[1:].sum()) for m in masks))
    return tu.get_tensordict({"input_ids": input_ids, "loss_mask": loss_mask},
                             non_tensor_dict={"batch_num_tokens": tokens, "dp_size": 1}), lengths


def ours(method_name, ids, masks, student, reference=None, overrides=()):
    """The method's loss as verl computes it: the logits hook's outputs, reduced by VerlLoss."""
    cfg = compose_config([f"method={method_name}", *overrides])
    method = build_method(cfg.method, cfg.schedule)
    data, lengths = packed(ids, masks)
    targets = torch.roll(data["input_ids"].values(), shifts=-1, dims=0)
    hook = method.token_outputs(student, reference, targets)
    offsets = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()])
    outputs = {k: torch.nested.nested_tensor_from_jagged(v.squeeze(0), offsets) for k, v in hook.items()}
    loss, metrics = VerlLoss(method)(outputs, data)
    return cfg, loss, metrics


def test_eaft_reproduces_the_release(release):
    ids, masks, logits = fixed_batch()
    labels, batch_logits = padded(ids, masks, logits)
    student = torch.cat(logits).requires_grad_()
    cfg, loss, metrics = ours("eaft", ids, masks, student)
    assert (cfg.method.alpha, cfg.method.top_k, cfg.method.entropy_scale) == (1.0, 20, 3.0)  # LLaMA-Factory's
    released = release["eaft_loss_func"]({"logits": batch_logits}, labels, None, cfg.method.alpha)
    # the release computes in float32 (logits.float()); ours in the logits' float64
    assert loss.item() == pytest.approx(released.item(), rel=1e-6)
    # another power: the weight really is (H / 3) ** alpha
    cfg2, loss2, _ = ours("eaft", ids, masks, student, overrides=["method.alpha=0.5"])
    released2 = release["eaft_loss_func"]({"logits": batch_logits}, labels, None, 0.5)
    assert loss2.item() == pytest.approx(released2.item(), rel=1e-6)
    assert abs(loss2.item() - loss.item()) > 1e-3
    # the gradient of the release's loss (in float64: its float() cast is what differs) is ours
    release_grad_input = batch_logits.clone().float().requires_grad_()
    release["eaft_loss_func"]({"logits": release_grad_input}, labels, None, 1.0).backward()
    (grad,) = torch.autograd.grad(loss, student)
    expected = torch.cat([release_grad_input.grad[i, : len(x)] for i, x in enumerate(ids)]).double()
    assert torch.allclose(grad, expected, rtol=1e-4, atol=1e-7)
    assert 0 < metrics["eaft_weight_sum"] / metrics["tokens"]


def test_asft_reproduces_the_release(release):
    ids, masks, logits = fixed_batch(seed=11)
    g = torch.Generator().manual_seed(3)
    ref_logits = [z + 0.7 * torch.randn(z.shape, generator=g, dtype=torch.float64) for z in logits]
    labels, batch_logits = padded(ids, masks, logits)
    _, batch_ref = padded(ids, masks, ref_logits)
    student = torch.cat(logits).requires_grad_()
    cfg, loss, metrics = ours("asft", ids, masks, student, torch.cat(ref_logits))
    assert cfg.method.alpha == 0.1  # LLaMA-Factory's asft_alpha
    released = release["asft_loss_func"]({"logits": batch_logits}, labels, batch_ref, asft_alpha=0.1)
    assert loss.item() == pytest.approx(released.item(), rel=1e-6)
    # the KL term is there and its weight is alpha (the release at alpha 1 minus at 0.1 is 0.9 KL)
    released_kl_only = release["asft_loss_func"]({"logits": batch_logits}, labels, batch_ref, asft_alpha=1.0)
    release_kl = (released_kl_only.item() - released.item()) / 0.9
    assert release_kl > 0.01
    assert metrics["kl_sum"] / metrics["tokens"] == pytest.approx(release_kl, rel=1e-5)
    release_grad_input = batch_logits.clone().float().requires_grad_()
    release["asft_loss_func"]({"logits": release_grad_input}, labels, batch_ref.float(), asft_alpha=0.1).backward()
    (grad,) = torch.autograd.grad(loss, student)
    expected = torch.cat([release_grad_input.grad[i, : len(x)] for i, x in enumerate(ids)]).double()
    assert torch.allclose(grad, expected, rtol=1e-4, atol=1e-7)
