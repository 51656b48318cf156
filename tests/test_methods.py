"""The method registry: what trains is what the float64 references certify, and a new method is one module
plus its conf/method file.

The reference tests call each method exactly as verl's FSDP engine does on the trainer
(`VerlLoss(build_method(cfg.method, cfg.schedule))` on a packed micro-batch of jagged tensors, with
log-probs and entropy computed by verl's own functions) and compare the loss and its gradient with the
formula of docs/methods.md written out here in float64.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from curiosft.config import ConfigError, compose_config, group_options
from curiosft.methods import build_method, method_class, method_names, register_method, unregister_method
from curiosft.methods.verl_batch import VerlLoss

BUILT_IN = ["sft", "psft", "curiosft", "entropy_reg", "dft", "eaft", "asft"]


def test_the_registry_lists_the_built_in_methods_in_table_order():
    assert method_names() == BUILT_IN
    assert set(group_options("method")) == set(BUILT_IN)
    assert method_class("psft").label == "PSFT" and method_class("curiosft").uses_teacher()
    with pytest.raises(ConfigError, match="unknown method 'ppo'; choose one of sft, psft"):
        method_class("ppo")


# ------------------------------------------------------------------------- verl-shaped micro-batches
def jagged(values: torch.Tensor, lengths: list[int]) -> torch.Tensor:
    offsets = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()])
    return torch.nested.nested_tensor_from_jagged(values, offsets)


def micro_batch(lengths=(7, 5), vocab=23, seed=0, dp_size=1, extra_tokens=0):
    """A packed micro-batch as verl's SFT engine builds it: input_ids and loss_mask (jagged), the global
    batch's token count and the data-parallel size."""
    from verl.utils import tensordict_utils as tu

    g = torch.Generator().manual_seed(seed)
    n = sum(lengths)
    input_ids = torch.randint(0, vocab, (n,), generator=g)
    loss_mask = (torch.rand(n, generator=g) > 0.3).long()
    batch_num_tokens = int(loss_mask.sum()) + extra_tokens  # other micro-batches' tokens count too
    data = tu.get_tensordict({"input_ids": jagged(input_ids, list(lengths)), "loss_mask": jagged(loss_mask, list(lengths))},
                             non_tensor_dict={"batch_num_tokens": batch_num_tokens, "dp_size": dp_size})
    logits = (3 * torch.randn(n, vocab, generator=g, dtype=torch.float64)).requires_grad_()
    return data, logits, list(lengths)


def verl_outputs(logits, data, lengths):
    """model_output as verl's forward gives it: next-token log-probs and entropy (with grad), jagged."""
    from verl.utils.torch_functional import entropy_from_logits, logprobs_from_logits

    targets = torch.roll(data["input_ids"].values(), shifts=-1, dims=0)
    log_prob = logprobs_from_logits(logits, targets, inplace_backward=False)
    entropy = entropy_from_logits(logits)
    return {"log_probs": jagged(log_prob, lengths), "entropy": jagged(entropy, lengths)}, targets


def reference_terms(logits, data):
    """float64 per-token log pi(y_t), H_t and the rolled mask; the normaliser of verl's sft_loss."""
    targets = torch.roll(data["input_ids"].values(), shifts=-1, dims=0)
    mask = torch.roll(data["loss_mask"].values(), shifts=-1, dims=0).double()
    log_p = torch.log_softmax(logits, -1)
    log_prob = log_p.gather(-1, targets[:, None]).squeeze(-1)
    entropy = -(log_p.exp() * log_p).sum(-1)
    return log_prob, entropy, mask, data["batch_num_tokens"] / data["dp_size"]


def trained_loss(method_name, overrides=(), data=None, logits=None, lengths=None, **batch):
    cfg = compose_config([f"method={method_name}", *overrides])
    method = build_method(cfg.method, cfg.schedule)
    if data is None:
        data, logits, lengths = micro_batch(**batch)
    outputs, _ = verl_outputs(logits, data, lengths)
    loss, metrics = VerlLoss(method)(outputs, data)
    return cfg, loss, metrics, data, logits


def assert_same_value_and_gradient(loss, reference, logits):
    assert loss.item() == pytest.approx(reference.item(), rel=1e-10, abs=1e-12)
    (grad,) = torch.autograd.grad(loss, logits, retain_graph=True)
    (grad_ref,) = torch.autograd.grad(reference, logits, retain_graph=True)
    assert torch.allclose(grad, grad_ref, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("extra_tokens,dp_size", [(0, 1), (11, 2)])
def test_sft_trains_with_the_reference_loss(extra_tokens, dp_size):
    _, loss, metrics, data, logits = trained_loss("sft", extra_tokens=extra_tokens, dp_size=dp_size)
    log_prob, entropy, mask, norm = reference_terms(logits, data)
    assert_same_value_and_gradient(loss, -(log_prob * mask).sum() / norm, logits)
    assert metrics["tokens"] == mask.sum().item()
    assert metrics["entropy_sum"] == pytest.approx((entropy * mask).sum().item())


def test_dft_trains_with_the_reference_loss():
    _, loss, _, data, logits = trained_loss("dft", extra_tokens=3)
    log_prob, _, mask, norm = reference_terms(logits, data)
    assert_same_value_and_gradient(loss, (-(log_prob.exp().detach() * log_prob) * mask).sum() / norm, logits)


def test_entropy_reg_trains_with_the_reference_loss_including_the_entropy_gradient():
    cfg, loss, metrics, data, logits = trained_loss("entropy_reg", ["method.beta=0.3"], extra_tokens=5)
    log_prob, entropy, mask, norm = reference_terms(logits, data)
    assert cfg.method.beta == 0.3
    assert_same_value_and_gradient(loss, ((-log_prob - 0.3 * entropy) * mask).sum() / norm, logits)
    # the regulariser's gradient is really there: without it the gradient is SFT's
    (grad,) = torch.autograd.grad(loss, logits, retain_graph=True)
    (sft_grad,) = torch.autograd.grad(-(log_prob * mask).sum() / norm, logits, retain_graph=True)
    assert not torch.allclose(grad, sft_grad, atol=1e-6)
    assert metrics["nll_sum"] == pytest.approx(-(log_prob * mask).sum().item())


def test_psft_trains_with_the_reference_clipped_objective():
    from curiosft.methods.psft import OLD_LOG_PROBS

    data, logits, lengths = micro_batch(lengths=(9, 6), seed=3)
    log_prob, _, mask, norm = reference_terms(logits, data)
    # the old policy: a perturbed copy, so that some ratios pass 1 + clip_high and are clipped
    old = (log_prob.detach() + 0.5 * torch.randn(log_prob.shape, generator=torch.Generator().manual_seed(1),
                                                 dtype=torch.float64))
    data[OLD_LOG_PROBS] = jagged(old, lengths)
    cfg, loss, metrics, _, _ = trained_loss("psft", data=data, logits=logits, lengths=lengths)
    eps_low, eps_high = cfg.method.clip_low, cfg.method.clip_high
    assert (eps_low, eps_high) == (0.2, 0.28)  # the release's, from conf/method/psft.yaml
    ratio = torch.exp(log_prob - old)
    reference = -(torch.minimum(ratio, ratio.clamp(1 - eps_low, 1 + eps_high)) * mask).sum() / norm
    assert_same_value_and_gradient(loss, reference, logits)
    assert 0 < metrics["clip_fraction_sum"] < mask.sum().item()


def test_curiosft_trains_with_the_reference_distillation_loss():
    """The logits hook's per-token losses, reduced by the method's verl loss, are the reference's."""
    cfg = compose_config(["method=curiosft", "schedule=fixed", "method.alpha=0.7"])
    method = build_method(cfg.method, cfg.schedule)
    data, student, lengths = micro_batch(lengths=(8, 8), seed=5)
    teacher = student.detach() + 0.3 * torch.randn(student.shape, generator=torch.Generator().manual_seed(2),
                                                   dtype=torch.float64)
    targets = torch.roll(data["input_ids"].values(), shifts=-1, dims=0)
    loss, metrics = hook_loss(method, data, student, teacher, lengths)
    log_prob, _, mask, norm = reference_terms(student, data)
    tau = cfg.schedule.tau
    assert tau == 1.3  # the release's fixed-temperature ablation, from conf/schedule/fixed.yaml
    log_q = torch.log_softmax(teacher / tau, -1).gather(-1, targets[:, None]).squeeze(-1)
    reference = ((-log_prob + 0.7 * 0.5 * (log_prob - log_q) ** 2) * mask).sum() / norm
    assert_same_value_and_gradient(loss, reference, student)
    assert metrics["tau_sum"] == pytest.approx(tau * mask.sum().item())


def hook_loss(method, data, student, reference, lengths):
    """The method's loss as verl computes it: the logits hook's per-token outputs, reduced by VerlLoss."""
    targets = torch.roll(data["input_ids"].values(), shifts=-1, dims=0)
    hook = method.token_outputs(student, reference, targets)  # what VerlLoss(student_logits=...) returns
    outputs = {k: jagged(v.squeeze(0), lengths) for k, v in hook.items()}
    return VerlLoss(method)(outputs, data)


def test_eaft_trains_with_the_reference_entropy_weighted_loss():
    cfg = compose_config(["method=eaft", "method.alpha=0.5", "method.chunk_size=5"])
    method = build_method(cfg.method, cfg.schedule)
    data, student, lengths = micro_batch(lengths=(8, 6), vocab=30, seed=8, extra_tokens=2)
    loss, metrics = hook_loss(method, data, student, None, lengths)
    log_prob, _, mask, norm = reference_terms(student, data)
    top = student.detach().topk(20, dim=-1).values
    p_top = torch.softmax(top, -1)
    h_top = -(p_top * p_top.log()).sum(-1)
    weight = (h_top / 3.0) ** 0.5
    assert_same_value_and_gradient(loss, (-weight * log_prob * mask).sum() / norm, student)
    assert metrics["eaft_weight_sum"] == pytest.approx((weight * mask).sum().item())
    assert metrics["top_entropy_sum"] == pytest.approx((h_top * mask).sum().item())


def test_asft_trains_with_the_reference_dft_plus_kl_loss():
    cfg = compose_config(["method=asft", "method.alpha=0.3"])
    method = build_method(cfg.method, cfg.schedule)
    assert method.reads_reference and not method.uses_teacher()  # a frozen reference, no temperature schedule
    data, student, lengths = micro_batch(lengths=(7, 9), seed=9, extra_tokens=4)
    reference = student.detach() + 0.5 * torch.randn(student.shape, generator=torch.Generator().manual_seed(4),
                                                     dtype=torch.float64)
    loss, metrics = hook_loss(method, data, student, reference, lengths)
    log_prob, _, mask, norm = reference_terms(student, data)
    q = torch.softmax(reference, -1)
    kl = (q * (q.log() - torch.log_softmax(student, -1))).sum(-1)
    dft = -log_prob.exp().detach() * log_prob
    assert_same_value_and_gradient(loss, ((dft + 0.3 * kl) * mask).sum() / norm, student)
    assert metrics["kl_sum"] == pytest.approx((kl * mask).sum().item())


# ------------------------------------------------------------------------- a method of one's own
WEIGHTED_SFT = '''
"""A test-only method: SFT with its loss scaled by `weight`."""
from dataclasses import dataclass

from omegaconf import MISSING

from curiosft.errors import require
from curiosft.methods import Method, MethodConfig, register_method


@dataclass
class WeightedSFTConfig(MethodConfig):
    name: str = "weighted_sft"
    weight: float = MISSING

    def __post_init__(self):
        require(self.weight > 0, f"method.weight={self.weight} must be > 0")


@register_method
class WeightedSFT(Method):
    name = "weighted_sft"
    config = WeightedSFTConfig
    label = "Weighted SFT"

    def loss(self, model_output, data):
        from curiosft.objectives import sft_loss
        from curiosft.methods.verl_batch import flat_log_probs, global_normalizer

        log_prob, mask = flat_log_probs(model_output, data)
        loss, metrics = sft_loss(log_prob, mask, normalizer=global_normalizer(data))
        return float(self.cfg.weight) * loss, metrics
'''
WEIGHTED_SFT_OPTION = """\
defaults:
  - /schema/method/weighted_sft@_here_
  - _self_

weight: 2.0
"""


@pytest.fixture()
def own_method(tmp_path, monkeypatch):
    """weighted_sft: one module (on PYTHONPATH, named in CURIOSFT_METHODS) and its option file (in a
    CURIOSFT_CONF_PATH folder); nothing in the package changes."""
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "weighted_sft_method.py").write_text(textwrap.dedent(WEIGHTED_SFT))
    (tmp_path / "conf" / "method").mkdir(parents=True)
    (tmp_path / "conf" / "method" / "weighted_sft.yaml").write_text(WEIGHTED_SFT_OPTION)
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path / 'plugins'}")
    monkeypatch.setenv("CURIOSFT_METHODS", "weighted_sft_method")
    monkeypatch.setenv("CURIOSFT_CONF_PATH", str(tmp_path / "conf"))
    import weighted_sft_method  # noqa: F401  (what curiosft.methods does at import with CURIOSFT_METHODS)

    yield tmp_path
    unregister_method("weighted_sft")
    sys.modules.pop("weighted_sft_method", None)


def test_a_new_method_is_one_module_and_its_option_file(own_method):
    assert "weighted_sft" in method_names() and "weighted_sft" in group_options("method")
    cfg = compose_config(["method=weighted_sft"])
    assert cfg.method.weight == 2.0 and cfg.schedule.name == "none"
    with pytest.raises(ConfigError, match="method.weight=-1.0 must be > 0"):
        compose_config(["method=weighted_sft", "method.weight=-1"])
    with pytest.raises(ConfigError, match="wieght"):
        compose_config(["method=weighted_sft", "method.wieght=1"])
    # the sweep and the report know it
    from curiosft.report.labels import run_label
    from curiosft.sweep import expand_sweep

    assert [r.path for r in expand_sweep(["sft", "weighted_sft"], [], [1])][1] == "method~weighted_sft/schedule~none/seed~1"
    assert run_label("weighted_sft", "none") == "Weighted SFT"
    # an experiment's sweep may name it (the sweep section is checked against the registry, no copy of names)
    from curiosft.sweep import runs_of

    cfg = compose_config(["experiment=smoke", "sweep.methods=[sft,weighted_sft]",
                          '+sweep.method_overrides.weighted_sft=["trainer.lr=1"]'])
    assert [(r.method, r.method_overrides) for r in runs_of(cfg.sweep)] == [
        ("sft", ()), ("weighted_sft", ("trainer.lr=1",))]
    # it trains with its own loss on verl's interface
    _, loss, _, data, logits = trained_loss("weighted_sft")
    log_prob, _, mask, norm = reference_terms(logits, data)
    assert_same_value_and_gradient(loss, 2.0 * -(log_prob * mask).sum() / norm, logits)


def test_a_registered_name_cannot_be_taken_twice():
    class Impostor(method_class("sft")):
        pass

    with pytest.raises(ValueError, match="already registered"):
        register_method(Impostor)
    assert method_class("sft").__name__ == "SFT"


def test_a_method_without_a_loss_is_refused_at_registration():
    from curiosft.methods import Method, MethodConfig

    class NoLoss(Method):
        name = "no_loss"
        config = type("NoLossConfig", (MethodConfig,), {"name": "no_loss"})

    with pytest.raises(TypeError, match="does not define loss"):
        register_method(NoLoss)
    assert "no_loss" not in method_names()


@pytest.mark.verl
@pytest.mark.timeout(600)
def test_a_new_method_trains_through_verl(own_method, smoke_world, tmp_path):
    run = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "curiosft.cli", "sft", "--out", str(run), "experiment=smoke", f"paths.results={smoke_world}",
         "method=weighted_sft", "method.weight=3.0", "trainer.max_steps=2"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [1, 2]
    for line in lines:
        assert line["run"] == {"stage": "sft", "method": "weighted_sft", "schedule": "none", "seed": 1}
        # verl's logged loss is the method's: 3 x the token-mean NLL
        assert line["data"]["train/loss"] == pytest.approx(3.0 * line["data"]["train/nll"], rel=1e-4)
