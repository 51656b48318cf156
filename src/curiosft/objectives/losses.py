"""The SFT-stage objectives of docs/methods.md, in pure PyTorch.

Every loss returns (loss, metrics): loss is the token-mean over masked (response) tokens, divided by
`normalizer` when given (e.g. the global batch's token count, as verl normalises across micro-batches
and ranks); metrics are detached floats summed over tokens so callers can aggregate them exactly
(`metrics["<name>_sum"]` with `metrics["tokens"]`), plus the local means for convenience.
"""

from __future__ import annotations

import torch

from curiosft.objectives.curio_head import CurioSFTHead
from curiosft.objectives.temperature import EntropyGuided, TemperatureSchedule, entropy_from_log_probs, upcast
from curiosft.released import released

_PSFT, _CURIOSFT = released("method", "psft"), released("method", "curiosft")
RELEASED_ALPHA = _CURIOSFT["alpha"]
RELEASED_BETA = released("method", "entropy_reg")["beta"]
_EAFT, _ASFT = released("method", "eaft"), released("method", "asft")


def _denominator(mask: torch.Tensor, normalizer: float | torch.Tensor | None) -> torch.Tensor:
    if normalizer is None:
        return mask.sum().clamp_min(1.0)
    return torch.as_tensor(normalizer, dtype=torch.float32, device=mask.device).clamp_min(1e-8)


def _metrics(mask: torch.Tensor, **per_token: torch.Tensor) -> dict[str, float]:
    """Sums over masked tokens and local means, detached."""
    tokens = float(mask.sum())
    out = {"tokens": tokens}
    for name, values in per_token.items():
        total = float((upcast(values.detach()) * mask).sum())
        out[f"{name}_sum"] = total
        out[name] = total / tokens if tokens else 0.0
    return out


def sft_loss(log_prob: torch.Tensor, mask: torch.Tensor, *, normalizer=None) -> tuple[torch.Tensor, dict]:
    """L = mean_t[-log pi(y_t)]."""
    mask = mask.to(log_prob.dtype)
    nll = -log_prob
    loss = (nll * mask).sum() / _denominator(mask, normalizer)
    return loss, _metrics(mask, nll=nll)


def psft_loss(
    log_prob: torch.Tensor,
    old_log_prob: torch.Tensor,
    mask: torch.Tensor,
    clip_low: float = _PSFT["clip_low"],
    clip_high: float = _PSFT["clip_high"],
    *,
    log_ratio_clamp: float = _PSFT["log_ratio_clamp"],
    normalizer=None,
) -> tuple[torch.Tensor, dict]:
    """PPO clipped objective with advantage +1: L = -mean_t[min(r_t, clip(r_t, 1 - eps_low, 1 + eps_high))].

    Tokens with r > 1 + eps_high get zero gradient; at r = 1 (first mini-batch) the gradient is SFT's.
    """
    mask = mask.to(log_prob.dtype)
    log_ratio = torch.clamp(log_prob - old_log_prob.detach(), -log_ratio_clamp, log_ratio_clamp)
    ratio = torch.exp(log_ratio)
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high)
    objective = torch.minimum(ratio, clipped)
    loss = -(objective * mask).sum() / _denominator(mask, normalizer)
    clipped_tokens = (ratio > 1.0 + clip_high).to(log_prob.dtype)
    return loss, _metrics(mask, nll=-log_prob, ratio=ratio, clip_fraction=clipped_tokens)


def dft_loss(log_prob: torch.Tensor, mask: torch.Tensor, *, normalizer=None) -> tuple[torch.Tensor, dict]:
    """DFT: L = mean_t[-sg(pi(y_t)) * log pi(y_t)]."""
    mask = mask.to(log_prob.dtype)
    weighted = -torch.exp(log_prob).detach() * log_prob
    loss = (weighted * mask).sum() / _denominator(mask, normalizer)
    return loss, _metrics(mask, nll=-log_prob)


def _chunks(size: int, *tensors: torch.Tensor):
    """Row chunks of several tensors at once. torch.split (unlike slicing) backpropagates with a single
    concatenation instead of one full-size zero gradient per chunk."""
    return zip(*(t.split(size) for t in tensors))


def token_log_probs(logits: torch.Tensor, targets: torch.Tensor, *, with_entropy: bool = False):
    """log softmax(logits)[target] (with grad) and, optionally, the entropy (no grad).

    Uses the fused log_softmax kernel; autograd keeps its output for the backward pass, exactly as
    plain cross-entropy does, so the memory matches cross-entropy's.
    """
    log_probs = torch.log_softmax(upcast(logits), dim=-1)
    log_prob = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    entropy = None
    if with_entropy:
        with torch.no_grad():
            entropy = entropy_from_log_probs(log_probs)
    return log_prob, entropy


def entropy_reg_loss(
    log_prob: torch.Tensor, entropy: torch.Tensor, mask: torch.Tensor, beta: float = RELEASED_BETA, *, normalizer=None,
) -> tuple[torch.Tensor, dict]:
    """L = mean_t[-log pi(y_t) - beta * H(pi(. | s_t))] on per-token log-probs and entropies, both with grad
    (what verl's forward gives; `entropy_reg_loss_from_logits` computes them from logits)."""
    mask = mask.to(log_prob.dtype)
    loss = ((-log_prob - beta * entropy) * mask).sum() / _denominator(mask, normalizer)
    return loss, _metrics(mask, nll=-log_prob, entropy=entropy)


def entropy_reg_loss_from_logits(
    logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, beta: float = RELEASED_BETA, *,
    chunk_size: int = 1024, normalizer=None,
) -> tuple[torch.Tensor, dict]:
    """entropy_reg_loss from logits [tokens, vocab], `chunk_size` tokens at a time (log_softmax per chunk)."""
    log_prob, entropy = [], []
    for z, y in _chunks(chunk_size, logits, targets):
        log_probs = torch.log_softmax(upcast(z), dim=-1)
        log_prob.append(log_probs.gather(-1, y.unsqueeze(-1)).squeeze(-1))
        entropy.append(entropy_from_log_probs(log_probs))  # with grad: the regulariser
    return entropy_reg_loss(torch.cat(log_prob), torch.cat(entropy), mask, beta, normalizer=normalizer)


def curiosft_token_losses(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    schedule: TemperatureSchedule | None = None,
    alpha: float = RELEASED_ALPHA,
    progress: float = 0.0,
    chunk_size: int = 1024,
    with_entropy: bool = True,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """CurioSFT per token: (l_t [tokens] with grad, stats), l_t = -log pi(y_t) + alpha/2 (log pi(y_t) - log q_t(y_t))^2.

    q_t = softmax(z_ref / tau_t), tau_t from `schedule` (None: the released entropy-guided rule) on the
    teacher's logits; logits are [tokens, vocab] (curio_head.CurioSFTHead: `chunk_size` tokens at a time,
    nothing of size [tokens x vocab] kept for the backward pass). stats: per-token nll, tau, distill,
    teacher_nll and (with_entropy) entropy, teacher_entropy, all [tokens], no grad.
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student logits {tuple(student_logits.shape)} != teacher logits {tuple(teacher_logits.shape)}")
    stats: dict[str, torch.Tensor] = {}
    per_token = CurioSFTHead.apply(student_logits, teacher_logits.detach(), targets, float(alpha),
                                   schedule or EntropyGuided(), float(progress), int(chunk_size), bool(with_entropy),
                                   stats)
    return per_token, stats


def eaft_token_losses(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    alpha: float = _EAFT["alpha"],
    top_k: int = _EAFT["top_k"],
    entropy_scale: float = _EAFT["entropy_scale"],
    chunk_size: int = 1024,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """EAFT per token: (l_t [tokens] with grad, stats), l_t = -w_t * log pi(y_t), w_t = sg((H_k(pi_t) / s)^alpha).

    H_k is the entropy of the softmax over the `top_k` largest logits of the token's row (renormalised), s
    the release's fixed scale (3.0, about ln 20). logits: [tokens, vocab]; the weight carries no gradient.
    Source: EAFT (arXiv 2601.02151), as released in LLaMA-Factory (`_eaft_cross_entropy`,
    llamafactory/train/trainer_utils.py, PyPI llamafactory 0.9.5). stats: nll, eaft_weight, top_entropy.
    """
    per_token, nll, weight, top_entropy = [], [], [], []
    for z, y in _chunks(chunk_size, logits, targets):
        z = upcast(z)
        log_prob = torch.log_softmax(z, dim=-1).gather(-1, y.unsqueeze(-1)).squeeze(-1)
        with torch.no_grad():
            top = torch.topk(z.detach(), k=min(int(top_k), z.shape[-1]), dim=-1).values
            entropy = entropy_from_log_probs(torch.log_softmax(top, dim=-1))
            w = torch.pow(entropy / float(entropy_scale), float(alpha))
        per_token.append(-log_prob * w)
        nll.append(-log_prob.detach())
        weight.append(w)
        top_entropy.append(entropy)
    stats = {"nll": torch.cat(nll), "eaft_weight": torch.cat(weight), "top_entropy": torch.cat(top_entropy)}
    return torch.cat(per_token), stats


def asft_token_losses(
    logits: torch.Tensor,
    reference_logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    alpha: float = _ASFT["alpha"],
    chunk_size: int = 1024,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """ASFT per token: (l_t [tokens] with grad, stats), l_t = -sg(pi(y_t)) log pi(y_t) + alpha * KL(p_ref,t || pi_t).

    DFT's term plus a full-vocabulary KL from the frozen reference (the base model) to the student;
    logits and reference_logits: [tokens, vocab], the reference carries no gradient. Source: ASFT (arXiv
    2509.23753), as released in LLaMA-Factory (`_asft_cross_entropy` and `_kl_divergence`,
    llamafactory/train/trainer_utils.py, PyPI llamafactory 0.9.5; `asft_alpha` 0.1). stats: nll, kl.
    """
    if logits.shape != reference_logits.shape:
        raise ValueError(f"student logits {tuple(logits.shape)} != reference logits {tuple(reference_logits.shape)}")
    per_token, nll, kls = [], [], []
    for z, z_ref, y in _chunks(chunk_size, logits, reference_logits.detach(), targets):
        log_probs = torch.log_softmax(upcast(z), dim=-1)
        log_prob = log_probs.gather(-1, y.unsqueeze(-1)).squeeze(-1)
        log_q = torch.log_softmax(upcast(z_ref), dim=-1)
        kl = (log_q.exp() * (log_q - log_probs)).sum(-1)
        per_token.append(-torch.exp(log_prob).detach() * log_prob + float(alpha) * kl)
        nll.append(-log_prob.detach())
        kls.append(kl.detach())
    return torch.cat(per_token), {"nll": torch.cat(nll), "kl": torch.cat(kls)}


def masked_token_mean(per_token: torch.Tensor, mask: torch.Tensor, normalizer=None) -> torch.Tensor:
    """sum_t per_token_t * mask_t / (sum_t mask_t, or `normalizer`): every loss's reduction."""
    mask = mask.to(per_token.dtype)
    return (per_token * mask).sum() / _denominator(mask, normalizer)


def curiosft_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    mask: torch.Tensor,
    *,
    schedule: TemperatureSchedule | None = None,
    alpha: float = RELEASED_ALPHA,
    progress: float = 0.0,
    chunk_size: int = 1024,
    normalizer=None,
    with_entropy: bool = True,
) -> tuple[torch.Tensor, dict]:
    """CurioSFT: L = mean_t[-log pi(y_t) + alpha * 0.5 * (log pi(y_t) - log q_t(y_t))^2] (curiosft_token_losses,
    reduced over the masked tokens). with_entropy adds the student's and the tempered teacher's entropies
    to the metrics (a trainer that already gets the student entropy from its forward pass can turn it off).
    """
    per_token, stats = curiosft_token_losses(student_logits, teacher_logits, targets, schedule=schedule, alpha=alpha,
                                             progress=progress, chunk_size=chunk_size, with_entropy=with_entropy)
    loss = masked_token_mean(per_token, mask, normalizer)
    mask_f = mask.to(per_token.dtype)
    metrics = _metrics(mask_f, **stats)
    taus = stats["tau"][mask.bool()]
    if taus.numel():
        for q in (0.1, 0.5, 0.9):
            metrics[f"tau_q{int(q * 100)}"] = float(torch.quantile(taus.float(), q))
    return loss, metrics
