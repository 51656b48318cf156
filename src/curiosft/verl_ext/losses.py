"""curiosft's objectives as verl loss functions (`loss_fn(model_output, data, dp_group) -> (loss, metrics)`).

verl's FSDP engine gives per-token log-probs (and entropy) as jagged tensors over the packed micro-batch;
the loss mask is rolled by one to align with them, and losses are normalised by the global batch's token
count (summed over ranks) times the data-parallel size, exactly as verl's own `sft_loss`. Metrics are
token-weighted sums (`<name>_sum`, `tokens`) so that micro-batches and ranks aggregate exactly.
"""

from __future__ import annotations

import torch

from curiosft.objectives import build_schedule, dft_loss, psft_loss, sft_loss
from curiosft.objectives.curio_head import CurioSFTHead

OLD_LOG_PROBS = "curiosft_old_log_probs"
# per-token outputs of the CurioSFT logits hook (kept as jagged tensors in verl's model_output)
CURIO_FIELDS = ("curio_loss", "curio_nll", "curio_tau", "curio_distill", "curio_teacher_nll", "curio_teacher_entropy")
# tau histogram bins: counts add up exactly over micro-batches and ranks, quantiles come from the sum.
# The counts stay on the loss object and are all-reduced once per step: as a 500-number list in every
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


class ObjectiveLoss:
    """The method's loss on verl's log-probs. Entropy (a metric for every method) comes from verl's forward."""

    def __init__(self, method) -> None:
        self.method = method
        self.name = method.name

    def __call__(self, model_output, data, dp_group=None):
        log_prob, mask = flat_log_probs(model_output, data)
        normalizer = global_normalizer(data)
        if self.name == "sft":
            loss, metrics = sft_loss(log_prob, mask, normalizer=normalizer)
        elif self.name == "dft":
            loss, metrics = dft_loss(log_prob, mask, normalizer=normalizer)
        elif self.name == "psft":
            old = data[OLD_LOG_PROBS].values() if OLD_LOG_PROBS in data.keys() else log_prob.detach()
            loss, metrics = psft_loss(
                log_prob, old, mask, self.method.clip_low, self.method.clip_high,
                log_ratio_clamp=self.method.log_ratio_clamp, normalizer=normalizer,
            )
        elif self.name == "entropy_reg":
            entropy = model_output["entropy"].values()
            loss, metrics = sft_loss(log_prob, mask, normalizer=normalizer)
            reg = (entropy * mask).sum() / torch.as_tensor(normalizer, dtype=entropy.dtype)
            loss = loss - self.method.beta * reg
        else:
            raise ValueError(f"method {self.name!r} has no log-prob loss; choose sft, dft, psft or entropy_reg")
        if "entropy" in model_output:
            entropy = model_output["entropy"].values().detach()
            metrics["entropy_sum"] = float((entropy * mask).sum())
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



class CurioSFTLoss:
    """CurioSFT through verl's logits hook.

    verl calls the loss function twice per micro-batch when `distillation_use_topk` is set: first as
    `fn(student_logits=[1, tokens, vocab], data=micro_batch)` inside the forward pass, where the full
    logits exist (here the teacher runs on the same packed inputs and curiosft's CurioSFTHead turns both
    into per-token losses, with grad), then as the usual `fn(model_output, data, dp_group)`.
    """

    def __init__(self, method, schedule, *, engine, teacher) -> None:
        self.method = method
        self.schedule = build_schedule(schedule)
        self.engine = engine
        self.teacher = teacher
        self.progress = 0.0
        self.tau_counts = torch.zeros(len(TAU_BINS) - 1, dtype=torch.float64)

    def take_tau_quantiles(self, group=None) -> dict[str, float]:
        """tau quantiles over this step's response tokens on all ranks (every rank calls it), then reset."""
        counts, self.tau_counts = self.tau_counts, torch.zeros_like(self.tau_counts)
        if torch.distributed.is_initialized() and torch.distributed.get_world_size(group) > 1:
            torch.distributed.all_reduce(counts, group=group)
        return tau_quantiles(counts)

    def __call__(self, model_output=None, data=None, dp_group=None, student_logits=None):
        if student_logits is not None:
            return self.per_token(student_logits, data)
        per_token = model_output["curio_loss"].values()
        mask = response_mask(data, per_token.dtype)
        loss = (per_token * mask).sum() / global_normalizer(data)
        metrics = {"tokens": float(mask.sum())}
        for field in CURIO_FIELDS[1:]:
            metrics[f"{field.removeprefix('curio_')}_sum"] = float((model_output[field].values() * mask).sum())
        taus = model_output["curio_tau"].values()[mask.bool()].float().cpu()
        self.tau_counts += torch.histogram(taus.clamp(0.5, 3.0), bins=TAU_BINS).hist.to(torch.float64)
        if "entropy" in model_output:
            metrics["entropy_sum"] = float((model_output["entropy"].values().detach() * mask).sum())
        return loss, metrics

    def per_token(self, student_logits: torch.Tensor, data) -> dict[str, torch.Tensor]:
        model_inputs, _ = self.engine.prepare_model_inputs(micro_batch=data)
        teacher_logits = self.teacher.logits(model_inputs)
        student = student_logits.squeeze(0)
        teacher = teacher_logits.reshape(-1, teacher_logits.shape[-1])[: student.shape[0]]
        targets = torch.roll(data["input_ids"].values(), shifts=-1, dims=0)[: student.shape[0]]
        stats: dict[str, torch.Tensor] = {}
        per_token = CurioSFTHead.apply(student, teacher, targets, float(self.method.alpha), self.schedule,
                                       float(self.progress), int(self.method.chunk_size), True, stats)
        values = {"curio_loss": per_token, "curio_nll": stats["nll"], "curio_tau": stats["tau"],
                  "curio_distill": stats["distill"], "curio_teacher_nll": stats["teacher_nll"],
                  "curio_teacher_entropy": stats["teacher_entropy"]}
        return {k: v.unsqueeze(0) for k, v in values.items()}

