"""CurioSFT: SFT plus self-distillation toward a temperature-scaled teacher copy of the model.

A LogitsMethod reading a reference copy (curiosft.methods.logits_method): inside verl's forward pass the
teacher runs on the same packed inputs and objectives.curiosft_token_losses turns both logits into
per-token losses (with grad), which `loss` reduces as objectives.curiosft_loss does. The step hook
advances the schedule's progress, gathers tau quantiles over ranks and syncs the teacher every
`sync_every` steps; the teacher's state is saved beside every checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING

from curiosft.errors import require
from curiosft.methods.base import MethodConfig
from curiosft.methods.logits_method import STAT_PREFIX, LogitsMethod
from curiosft.methods.registry import register_method


@dataclass
class CurioSFTConfig(MethodConfig):
    name: str = "curiosft"
    uses_teacher: bool = True
    # weight of the 0.5 * (log pi - log q)^2 distillation term
    alpha: float = MISSING
    # teacher <- (1 - sync_mix) * teacher + sync_mix * student every sync_every steps
    sync_every: int = MISSING
    sync_mix: float = MISSING
    # tokens per chunk in the loss head (bounds the [tokens x vocab] temporaries)
    chunk_size: int = 1024

    def __post_init__(self) -> None:
        require(self.alpha >= 0, f"method.alpha={self.alpha} must be >= 0")
        require(self.sync_every >= 1, f"method.sync_every={self.sync_every} must be >= 1")
        require(0 <= self.sync_mix <= 1, f"method.sync_mix={self.sync_mix} must be in [0, 1]")
        require(self.chunk_size >= 1, f"method.chunk_size={self.chunk_size} must be >= 1")


@register_method
class CurioSFT(LogitsMethod):
    name = "curiosft"
    config = CurioSFTConfig
    label = "CurioSFT"
    order = 30
    token_stats = ("nll", "tau", "distill", "teacher_nll", "teacher_entropy")
    reads_reference = True

    def __init__(self, cfg, schedule=None) -> None:
        from curiosft.methods.verl_batch import TauHistogram
        from curiosft.schedules import build_schedule

        super().__init__(cfg, schedule)
        self.schedule = build_schedule(schedule)
        self.progress = 0.0
        self.tau_histogram = TauHistogram()

    # ------------------------------------------------------------------------------ the objective
    def token_losses(self, student, reference, targets) -> tuple:
        from curiosft.objectives import curiosft_token_losses

        return curiosft_token_losses(student, reference, targets, schedule=self.schedule,
                                     alpha=float(self.cfg.alpha), progress=self.progress,
                                     chunk_size=int(self.cfg.chunk_size))

    def loss(self, model_output, data):
        from curiosft.methods.verl_batch import response_mask

        loss, metrics = super().loss(model_output, data)
        taus = model_output[f"{STAT_PREFIX}tau"].values()
        self.tau_histogram.add(taus[response_mask(data, taus.dtype).bool()])
        return loss, metrics

    # ------------------------------------------------------------------------------ step hooks
    def reference_sync(self) -> tuple[int | None, float]:
        return int(self.cfg.sync_every), float(self.cfg.sync_mix)

    def train_step(self, trainer, data) -> list:
        self.progress = (trainer.step - 1) / max(1, trainer.total_training_steps - 1)
        return super().train_step(trainer, data)

    def step_metrics(self, trainer) -> dict[str, float]:
        metrics = {f"train/{k}": v for k, v in
                   self.tau_histogram.take_quantiles(trainer.engine.get_data_parallel_group()).items()}
        self.teacher.maybe_sync(trainer.engine.module, trainer.step)
        metrics["train/teacher_syncs"] = self.teacher.syncs
        return metrics
