"""Teacher temperatures for CurioSFT: the released entropy-guided rule and the ablation schedules.

All functions take teacher logits [tokens, vocab] and return one temperature per token, without grad.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import torch

from curiosft.released import released

ENTROPY_GUIDED = released("schedule", "entropy_guided")
_FIXED, _ANNEALED = released("schedule", "fixed"), released("schedule", "annealed")


def upcast(x: torch.Tensor) -> torch.Tensor:
    """At least float32 (bf16/fp16 logits are upcast; float64 stays float64 for exact checks)."""
    return x if x.dtype == torch.float64 else x.float()


def entropy_from_log_probs(log_probs: torch.Tensor) -> torch.Tensor:
    """-sum p log p along the last dim, as a batched dot product (one fused pass, no [.., V] temporary)."""
    p = log_probs.exp()
    return -torch.bmm(p.reshape(-1, 1, p.shape[-1]), log_probs.reshape(-1, log_probs.shape[-1], 1)).reshape(
        log_probs.shape[:-1]
    )


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of softmax(logits) along the last dim, in at least float32."""
    return entropy_from_log_probs(torch.log_softmax(upcast(logits), dim=-1))


# Below this eps_h, a row can only have full-vocabulary entropy <= eps_h if its top-K mass is >= 0.99
# (H >= h2(P_topK) and h2(0.99) = 0.056), and then H >= P_topK * H_topK >= 0.99 * H_topK.
_NEAR_DETERMINISTIC_BOUND = 0.056


def _near_deterministic(z: torch.Tensor, h_top: torch.Tensor, eps_h: float) -> torch.Tensor:
    """Rows whose full-vocabulary entropy is <= eps_h, computing it only for rows that can qualify."""
    if eps_h < _NEAR_DETERMINISTIC_BOUND:
        candidates = (h_top <= eps_h / 0.99).nonzero().squeeze(-1)
    else:
        candidates = torch.arange(z.shape[0], device=z.device)
    result = torch.zeros_like(h_top, dtype=torch.bool)
    if candidates.numel():
        result[candidates] = entropy_from_logits(z[candidates]) <= eps_h
    return result


@torch.no_grad()
def select_temperature(
    teacher_logits: torch.Tensor,
    *,
    tau_min: float = ENTROPY_GUIDED["tau_min"],
    tau_max: float = ENTROPY_GUIDED["tau_max"],
    top_k: int = ENTROPY_GUIDED["top_k"],
    b: float = ENTROPY_GUIDED["b"],
    c: float = ENTROPY_GUIDED["c"],
    h0: float = ENTROPY_GUIDED["h0"],
    eps_h: float = ENTROPY_GUIDED["eps_h"],
    iters: int = ENTROPY_GUIDED["iters"],
) -> torch.Tensor:
    """Per-token tau with H_topK(z / tau) = H + b * sigmoid(c * (H - h0)) (docs/methods.md), by bisection.

    H is the entropy over the teacher's top-K logits at tau = 1. tau is clamped to [tau_min, tau_max]
    when the target is out of reach, and is tau_min where the full-vocabulary entropy is <= eps_h.
    """
    if not 0 < tau_min <= tau_max:
        raise ValueError(f"empty temperature range [{tau_min}, {tau_max}]")
    z = upcast(teacher_logits)
    k = min(int(top_k), z.shape[-1])
    z_top = torch.topk(z, k, dim=-1, sorted=False).values
    h = entropy_from_logits(z_top)
    target = h + b * torch.sigmoid(c * (h - h0))

    # out of reach: the entropy is monotone in tau, so the answer is an end of the range
    at_min = entropy_from_logits(z_top / tau_min) >= target
    at_max = entropy_from_logits(z_top / tau_max) <= target
    # near-deterministic teacher ("factual" tokens): keep it cold
    near_deterministic = _near_deterministic(z, h, eps_h)
    # an end of the range where one applies (near-deterministic wins over out of reach), else bisection:
    # only the rows that need it (after SFT most tokens are near-deterministic); rows are independent,
    # so this is the same result for a fraction of the work
    tau = torch.where(at_max & ~near_deterministic, tau_max, tau_min).to(h.dtype)
    rows = (~(at_min | at_max | near_deterministic)).nonzero().squeeze(-1)
    if rows.numel():
        tau[rows] = _bisect(z_top[rows], target[rows], tau_min, tau_max, iters)
    return tau


def _bisect(z_top: torch.Tensor, target: torch.Tensor, tau_min: float, tau_max: float, iters: int) -> torch.Tensor:
    """tau in [tau_min, tau_max] with entropy(softmax(z_top / tau)) = target per row, `iters` halvings."""
    lo = torch.full_like(target, tau_min)
    hi = torch.full_like(target, tau_max)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        too_cold = entropy_from_logits(z_top / mid.unsqueeze(-1)) < target
        lo = torch.where(too_cold, mid, lo)
        hi = torch.where(too_cold, hi, mid)
    return 0.5 * (lo + hi)


class TemperatureSchedule(Protocol):
    """Maps teacher logits [tokens, vocab] and training progress in [0, 1] to tau [tokens]."""

    name: str

    def __call__(self, teacher_logits: torch.Tensor, progress: float = 0.0) -> torch.Tensor: ...


@dataclass(frozen=True)
class EntropyGuided:
    """select_temperature with its parameters bound (defaults: the release's, conf/schedule/entropy_guided.yaml)."""

    params: dict = field(default_factory=lambda: dict(ENTROPY_GUIDED))
    name: str = "entropy_guided"

    def __call__(self, teacher_logits: torch.Tensor, progress: float = 0.0) -> torch.Tensor:
        return select_temperature(teacher_logits, **self.params)


@dataclass(frozen=True)
class Fixed:
    tau: float = _FIXED["tau"]
    name: str = "fixed"

    def __call__(self, teacher_logits: torch.Tensor, progress: float = 0.0) -> torch.Tensor:
        return torch.full(teacher_logits.shape[:-1], self.tau, dtype=upcast(teacher_logits[..., :1]).dtype,
                          device=teacher_logits.device)


@dataclass(frozen=True)
class Annealed:
    tau_start: float = _ANNEALED["tau_start"]
    tau_end: float = _ANNEALED["tau_end"]
    curve: str = _ANNEALED["curve"]
    name: str = "annealed"

    def tau_at(self, progress: float) -> float:
        p = min(max(float(progress), 0.0), 1.0)
        if self.curve == "cosine":
            p = 0.5 * (1 - math.cos(math.pi * p))
        elif self.curve != "linear":
            raise ValueError(f"unknown annealing curve {self.curve!r}; choose linear or cosine")
        return self.tau_start + (self.tau_end - self.tau_start) * p

    def __call__(self, teacher_logits: torch.Tensor, progress: float = 0.0) -> torch.Tensor:
        return Fixed(self.tau_at(progress))(teacher_logits)
