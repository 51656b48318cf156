"""verl's packed micro-batch as a method sees it, and the bridge between a method and verl's loss interface.

verl's FSDP engine calls `loss_fn(model_output, data, dp_group) -> (loss, metrics)` per packed micro-batch,
with per-token log-probs (and entropy, with grad) as jagged tensors; `VerlLoss(method)` is that function
for every method (and, for a method with a logits hook, also `loss_fn(student_logits=..., data=...)`,
which verl calls inside the forward pass where the full logits exist). The loss mask is rolled by one to
align with next-token outputs, and losses are normalised by the global batch's token count (summed over
ranks) over the data-parallel size, exactly as verl's own `sft_loss`. Metrics are token-weighted sums
(`<name>_sum`, `tokens`) so that micro-batches and ranks aggregate exactly (`aggregate`).
"""

from __future__ import annotations

import torch

# tau histogram bins: counts add up exactly over micro-batches and ranks, quantiles come from the sum.
# The counts stay on the method and are all-reduced once per step: as a 500-number list in every
# micro-batch's verl metrics they slowed the whole CurioSFT step by ~50% on CPU (verl's per-micro-batch
# metric handling, and the OpenMP workers then sleeping between every op).
TAU_BINS = torch.linspace(0.5, 3.0, 501)


def response_mask(data, dtype: torch.dtype) -> torch.Tensor:
    """The loss mask over the packed micro-batch, rolled by one to align with next-token outputs."""
    return torch.roll(data["loss_mask"].values(), shifts=-1, dims=0).to(dtype)


def global_normalizer(data) -> float:
    """The global batch's token count over the data-parallel size, as verl's own sft_loss normalises."""
    return data["batch_num_tokens"] / data["dp_size"]


def flat_log_probs(model_output, data) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token log-probs and the aligned response mask, flattened over the packed micro-batch."""
    log_prob = model_output["log_probs"].values()
    return log_prob, response_mask(data, log_prob.dtype)


class VerlLoss:
    """verl's loss function for a method: the method's loss, plus the entropy metric every method logs
    (from verl's forward), keeping only exactly-aggregable metrics."""

    def __init__(self, method) -> None:
        self.method = method

    def __call__(self, model_output=None, data=None, dp_group=None, student_logits=None):
        if student_logits is not None:
            return self.method.logits_hook(student_logits, data)
        loss, metrics = self.method.loss(model_output, data)
        if "entropy" in model_output:
            entropy = model_output["entropy"].values().detach()
            metrics["entropy_sum"] = float((entropy * response_mask(data, entropy.dtype)).sum())
        return loss, {k: v for k, v in metrics.items() if k.endswith("_sum") or k == "tokens"}


def aggregate(metrics: dict) -> dict[str, float]:
    """Exact token means from per-micro-batch, per-rank lists of `<name>_sum` and `tokens`."""

    def total(values) -> float:
        if isinstance(values, (list, tuple)):
            return float(sum(total(v) for v in values))
        return float(values)

    tokens = total(metrics.get("tokens", 0.0))
    out = {}
    for key, values in metrics.items():
        if key.endswith("_sum"):
            out[key[: -len("_sum")]] = total(values) / tokens if tokens else float("nan")
    out["tokens"] = tokens
    return out


def tau_quantiles(counts: torch.Tensor, qs=(0.1, 0.5, 0.9)) -> dict[str, float]:
    """Quantiles of tau from bin counts over TAU_BINS (summed over micro-batches and ranks)."""
    counts = counts.to(torch.float64)
    if counts.sum() == 0:
        return {}
    cdf = counts.cumsum(0) / counts.sum()
    centers = (TAU_BINS[:-1] + TAU_BINS[1:]).double() / 2
    return {f"tau_q{int(q * 100)}": float(centers[int(torch.searchsorted(cdf, torch.tensor(q, dtype=cdf.dtype)))])
            for q in qs}


class TauHistogram:
    """Counts of a step's response-token temperatures over TAU_BINS, on one rank."""

    def __init__(self) -> None:
        self.counts = torch.zeros(len(TAU_BINS) - 1, dtype=torch.float64)

    def add(self, taus: torch.Tensor) -> None:
        taus = taus.detach().float().cpu().clamp(float(TAU_BINS[0]), float(TAU_BINS[-1]))
        self.counts += torch.histogram(taus, bins=TAU_BINS).hist.to(torch.float64)

    def take_quantiles(self, group=None) -> dict[str, float]:
        """tau quantiles over this step's tokens on all ranks (every rank calls it), then reset."""
        counts, self.counts = self.counts, torch.zeros_like(self.counts)
        if torch.distributed.is_initialized() and torch.distributed.get_world_size(group) > 1:
            torch.distributed.all_reduce(counts, group=group)
        return tau_quantiles(counts)
