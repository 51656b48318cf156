"""The objectives against a straightforward float64 reference of docs/methods.md, edge cases, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from curiosft.objectives import (
    Annealed,
    EntropyGuided,
    Fixed,
    curiosft_loss,
    dft_loss,
    entropy_reg_loss_from_logits,
    psft_loss,
    select_temperature,
    sft_loss,
)
from curiosft.schedules import build_schedule

RELEASED = dict(tau_min=1.1, tau_max=1.5, top_k=512, b=0.5, c=2.0, h0=1.2, eps_h=0.03)


# ----------------------------------------------------------------------------------- the reference
def ref_entropy(logits: list[float], tau: float = 1.0) -> float:
    z = [x / tau for x in logits]
    m = max(z)
    w = [math.exp(x - m) for x in z]
    s = sum(w)
    return -sum(p / s * math.log(p / s) for p in w if p > 0)


def ref_tau(logits: list[float], tau_min, tau_max, top_k, b, c, h0, eps_h) -> float:
    """Per token, in float64: target entropy, bisection to 1e-12, explicit clamps."""
    top = sorted(logits, reverse=True)[:top_k]
    h = ref_entropy(top)
    target = h + b / (1 + math.exp(-c * (h - h0)))
    if ref_entropy(logits) <= eps_h or ref_entropy(top, tau_min) >= target:
        return tau_min
    if ref_entropy(top, tau_max) <= target:
        return tau_max
    lo, hi = tau_min, tau_max
    while hi - lo > 1e-12:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ref_entropy(top, mid) < target else (lo, mid)
    return (lo + hi) / 2


def ref_curiosft_per_token(student: torch.Tensor, teacher: torch.Tensor, targets, taus, alpha):
    log_pi = torch.log_softmax(student.double(), -1).gather(-1, targets[:, None]).squeeze(-1)
    scaled = teacher.double() / torch.tensor(taus, dtype=torch.float64)[:, None]
    log_q = torch.log_softmax(scaled, -1).gather(-1, targets[:, None]).squeeze(-1)
    return -log_pi + alpha * 0.5 * (log_pi - log_q) ** 2


def distillation_inputs(tokens: int, vocab: int, seed: int, dtype=torch.float32):
    """Student logits, teacher logits and targets for one CurioSFT test case."""
    student = random_logits(tokens=tokens, vocab=vocab, seed=seed, dtype=dtype)
    teacher = random_logits(tokens=tokens, vocab=vocab, seed=seed + 1, dtype=dtype)
    targets = torch.randint(0, vocab, (tokens,), generator=torch.Generator().manual_seed(seed))
    return student, teacher, targets


def random_logits(tokens=24, vocab=700, scale=3.0, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    # a spread of sharp and flat rows
    temps = torch.linspace(0.3, 3.0, tokens)[:, None]
    return (torch.randn(tokens, vocab, generator=g) * scale / temps).to(dtype)


# ----------------------------------------------------------------------------------- temperature
def test_select_temperature_matches_the_reference():
    logits = random_logits(tokens=40, vocab=900)
    taus = select_temperature(logits, **RELEASED)
    expected = [ref_tau(row.double().tolist(), top_k=512, **{k: v for k, v in RELEASED.items() if k != "top_k"})
                for row in logits]
    assert torch.allclose(taus.double(), torch.tensor(expected, dtype=torch.float64), atol=1e-5)
    assert ((taus >= 1.1) & (taus <= 1.5)).all()
    # the rule does something: not all tokens at one end
    assert len(set(round(t, 3) for t in taus.tolist())) > 5


@pytest.mark.parametrize("eps_h", [0.03, 0.1, 0.6])
def test_near_deterministic_rule_matches_the_reference_for_any_eps_h(eps_h):
    """Sharp rows around the threshold: the shortcut for small eps_h must not change any tau."""
    logits = random_logits(tokens=30, vocab=400, seed=13)
    logits[::3, 5] += torch.linspace(4, 14, 10)  # near-deterministic to different degrees
    params = {**RELEASED, "eps_h": eps_h}
    taus = select_temperature(logits, **params)
    expected = [ref_tau(row.double().tolist(), top_k=512, **{k: v for k, v in params.items() if k != "top_k"})
                for row in logits]
    assert torch.allclose(taus.double(), torch.tensor(expected, dtype=torch.float64), atol=1e-5)


def test_unreachable_target_is_clamped_to_tau_max():
    # uniform over the top-k: entropy log(k) at every temperature, always below H + b*sigmoid(.)
    logits = torch.zeros(3, 600)
    assert torch.allclose(select_temperature(logits, **RELEASED), torch.full((3,), 1.5))


def test_target_below_reach_is_clamped_to_tau_min():
    logits = random_logits(tokens=8, vocab=300, seed=3)
    params = {**RELEASED, "b": 1e-6}  # H* ~= H(1) < H(1.1)
    assert torch.allclose(select_temperature(logits, **params), torch.full((8,), 1.1))


def test_near_deterministic_teacher_gets_tau_min():
    logits = torch.zeros(4, 1000)
    logits[:, 7] = 40.0  # full-vocabulary entropy ~ 0 <= eps_h
    assert torch.allclose(select_temperature(logits, **RELEASED), torch.full((4,), 1.1))


def test_schedules():
    logits = random_logits(tokens=5, vocab=50)
    assert torch.equal(Fixed(1.3)(logits), torch.full((5,), 1.3))
    linear = Annealed(1.5, 1.1, "linear")
    assert linear(logits, 0.0)[0] == pytest.approx(1.5) and linear(logits, 1.0)[0] == pytest.approx(1.1)
    assert linear(logits, 0.5)[0] == pytest.approx(1.3)
    assert Annealed(1.5, 1.1, "cosine").tau_at(0.25) == pytest.approx(1.5 - 0.4 * (1 - math.cos(math.pi / 4)) / 2)
    eg = build_schedule({"name": "entropy_guided", **RELEASED, "iters": 20})
    assert isinstance(eg, EntropyGuided) and torch.allclose(eg(logits), select_temperature(logits, **RELEASED))
    with pytest.raises(KeyError, match="unknown schedule .hot."):
        build_schedule({"name": "hot"})


# ----------------------------------------------------------------------------------- CurioSFT
@pytest.mark.parametrize("schedule", [None, Fixed(1.3), Annealed(1.5, 1.1)])
def test_curiosft_loss_and_gradient_match_the_reference(schedule):
    student = random_logits(tokens=30, vocab=800, seed=1).requires_grad_()
    teacher = random_logits(tokens=30, vocab=800, seed=2)
    targets = torch.randint(0, 800, (30,), generator=torch.Generator().manual_seed(4))
    mask = (torch.arange(30) % 4 != 0).float()
    loss, metrics = curiosft_loss(student, teacher, targets, mask, schedule=schedule, alpha=1.0, progress=0.25,
                                  chunk_size=7)
    loss.backward()

    if schedule is None:
        taus = [ref_tau(r.double().tolist(), top_k=512, **{k: v for k, v in RELEASED.items() if k != "top_k"})
                for r in teacher]
    else:
        taus = schedule(teacher, 0.25).tolist()
    ref_student = student.detach().double().requires_grad_()
    per_token = ref_curiosft_per_token(ref_student, teacher, targets, taus, alpha=1.0)
    ref_loss = (per_token * mask.double()).sum() / mask.sum()
    ref_loss.backward()
    assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-4)
    assert torch.allclose(student.grad.double(), ref_student.grad, atol=1e-5)
    assert metrics["tokens"] == mask.sum().item()
    assert metrics["tau"] == pytest.approx(sum(t * m for t, m in zip(taus, mask.tolist())) / mask.sum().item(), abs=1e-4)
    assert {"nll", "entropy", "teacher_entropy", "distill", "tau_q10", "tau_q50", "tau_q90"} <= set(metrics)


def test_curiosft_chunking_does_not_change_the_result():
    student, teacher, targets = distillation_inputs(33, 300, seed=5)
    mask = torch.ones(33)
    a, _ = curiosft_loss(student, teacher, targets, mask, chunk_size=4)
    b, _ = curiosft_loss(student, teacher, targets, mask, chunk_size=1024)
    assert a.item() == pytest.approx(b.item(), rel=1e-6)


def test_curiosft_gradcheck_float64():
    student, teacher, targets = distillation_inputs(6, 20, seed=7, dtype=torch.float64)
    student.requires_grad_()
    mask = torch.tensor([1.0, 1, 0, 1, 1, 1], dtype=torch.float64)
    fn = lambda s: curiosft_loss(s, teacher, targets, mask, schedule=Fixed(1.3), chunk_size=4)[0]  # noqa: E731
    assert torch.autograd.gradcheck(fn, (student,))


def test_curiosft_fixed_point_is_e_times_q():
    """d/dlogpi [-logpi + 0.5(logpi - logq)^2] = 0 at pi = e * q (docs/methods.md)."""
    log_q = torch.tensor([-3.0, -5.0])
    log_pi = (log_q + 1.0).requires_grad_()
    per_token = -log_pi + 0.5 * (log_pi - log_q) ** 2
    per_token.sum().backward()
    assert torch.allclose(log_pi.grad, torch.zeros(2))


def test_alpha_zero_is_plain_sft():
    student, teacher, targets = distillation_inputs(10, 40, seed=9)
    mask = torch.ones(10)
    loss, _ = curiosft_loss(student, teacher, targets, mask, alpha=0.0)
    log_prob = torch.log_softmax(student, -1).gather(-1, targets[:, None]).squeeze(-1)
    assert loss.item() == pytest.approx(sft_loss(log_prob, mask)[0].item(), rel=1e-6)


# ----------------------------------------------------------------------------------- PSFT
def test_psft_first_minibatch_equals_the_sft_gradient():
    logits = random_logits(tokens=12, vocab=30, seed=11).requires_grad_()
    targets = torch.randint(0, 30, (12,))
    mask = torch.ones(12)
    log_prob = torch.log_softmax(logits, -1).gather(-1, targets[:, None]).squeeze(-1)
    (g_psft,) = torch.autograd.grad(psft_loss(log_prob, log_prob.detach(), mask)[0], logits, retain_graph=True)
    (g_sft,) = torch.autograd.grad(sft_loss(log_prob, mask)[0], logits)
    assert torch.allclose(g_psft, g_sft, atol=1e-7)


def test_psft_ratio_above_upper_clip_gets_zero_gradient():
    log_prob = torch.log(torch.tensor([0.5, 0.5, 0.5, 0.5])).requires_grad_()
    # ratios 1.5 (> 1.28: clipped), 1.2 (inside), 0.5 (below 1 - 0.2: not clipped since A > 0), 1.0
    old = torch.log(torch.tensor([0.5 / 1.5, 0.5 / 1.2, 0.5 / 0.5 * 2, 0.5]))
    loss, metrics = psft_loss(log_prob, old, torch.ones(4), 0.2, 0.28)
    loss.backward()
    ratios = torch.exp(log_prob.detach() - old)
    expected = torch.where(ratios > 1.28, torch.zeros(4), -ratios / 4)
    assert torch.allclose(log_prob.grad, expected, atol=1e-6)
    assert metrics["clip_fraction"] == pytest.approx(0.25)
    assert metrics["ratio"] == pytest.approx(ratios.mean().item(), rel=1e-5)


def test_psft_reference_value_and_log_ratio_clamp():
    log_prob = torch.tensor([-1.0, -2.0, -0.5])
    old = torch.tensor([-1.1, -1.5, -30.0])  # last: log-ratio 29.5 -> clamped at 20
    mask = torch.tensor([1.0, 1.0, 1.0])
    loss, _ = psft_loss(log_prob, old, mask)
    r = [math.exp(0.1), math.exp(-0.5), math.exp(20.0)]
    expected = -sum(min(x, min(max(x, 0.8), 1.28)) for x in r) / 3
    assert loss.item() == pytest.approx(expected, rel=1e-6)


# ----------------------------------------------------------------------------------- baselines
def test_sft_dft_and_entropy_reg_match_the_reference():
    logits = random_logits(tokens=9, vocab=25, seed=12, dtype=torch.float64).requires_grad_()
    targets = torch.randint(0, 25, (9,))
    mask = torch.tensor([1.0, 1, 1, 0, 1, 1, 1, 1, 0], dtype=torch.float64)
    log_p = torch.log_softmax(logits, -1)
    log_prob = log_p.gather(-1, targets[:, None]).squeeze(-1)
    n = mask.sum()
    assert sft_loss(log_prob, mask)[0].item() == pytest.approx((-(log_prob * mask).sum() / n).item())
    dft_ref = (-(log_prob.exp().detach() * log_prob) * mask).sum() / n
    assert dft_loss(log_prob, mask)[0].item() == pytest.approx(dft_ref.item())
    entropy = -(log_p.exp() * log_p).sum(-1)
    er_ref = ((-log_prob - 0.1 * entropy) * mask).sum() / n
    er, metrics = entropy_reg_loss_from_logits(logits, targets, mask, beta=0.1, chunk_size=4)
    assert er.item() == pytest.approx(er_ref.item())
    (g,) = torch.autograd.grad(er, logits, retain_graph=True)
    (g_ref,) = torch.autograd.grad(er_ref, logits, retain_graph=True)
    assert torch.allclose(g, g_ref)
    assert metrics["entropy"] == pytest.approx(((entropy * mask).sum() / n).item())
    # dft's gradient treats pi as a constant weight
    (g_dft,) = torch.autograd.grad(dft_loss(log_prob, mask)[0], logits, retain_graph=True)
    (g_dft_ref,) = torch.autograd.grad(dft_ref, logits, retain_graph=True)
    assert torch.allclose(g_dft, g_dft_ref)
    assert torch.autograd.gradcheck(lambda z: entropy_reg_loss_from_logits(z, targets, mask, beta=0.1)[0], (logits,))


def test_normalizer_divides_by_the_global_token_count():
    log_prob = torch.tensor([-1.0, -3.0])
    mask = torch.ones(2)
    assert sft_loss(log_prob, mask, normalizer=8)[0].item() == pytest.approx(0.5)
