"""CurioSFT: SFT plus self-distillation toward a temperature-scaled teacher copy of the model.

On verl's trainer the loss needs the full logits, which exist only inside the forward pass: verl calls the
loss function there first (`distillation_use_topk`), as `logits_hook`, where the teacher runs on the same
packed inputs and objectives.curiosft_token_losses turns both into per-token losses (with grad); verl then
calls `loss`, which reduces them as objectives.curiosft_loss does. The step hook advances the schedule's
progress, gathers tau quantiles over ranks and syncs the teacher every `sync_every` steps; the teacher's
state is saved beside every checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING

from curiosft.errors import require
from curiosft.methods.base import Method, MethodConfig
from curiosft.methods.registry import register_method

# per-token outputs of the logits hook (jagged tensors in verl's model_output) -> metric name
HOOK_FIELDS = {"curio_nll": "nll", "curio_tau": "tau", "curio_distill": "distill",
               "curio_teacher_nll": "teacher_nll", "curio_teacher_entropy": "teacher_entropy"}


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
class CurioSFT(Method):
    name = "curiosft"
    config = CurioSFTConfig
    label = "CurioSFT"
    order = 30

    def __init__(self, cfg, schedule=None) -> None:
        from curiosft.methods.verl_batch import TauHistogram
        from curiosft.schedules import build_schedule

        super().__init__(cfg, schedule)
        self.schedule = build_schedule(schedule)
        self.progress = 0.0
        self.tau_histogram = TauHistogram()
        self.engine = None
        self.teacher = None

    # ------------------------------------------------------------------------------ the objective
    def logits_hook(self, student_logits, data) -> dict:
        import torch

        model_inputs, _ = self.engine.prepare_model_inputs(micro_batch=data)
        teacher_logits = self.teacher.logits(model_inputs)
        student = student_logits.squeeze(0)
        teacher = teacher_logits.reshape(-1, teacher_logits.shape[-1])[: student.shape[0]]
        targets = torch.roll(data["input_ids"].values(), shifts=-1, dims=0)[: student.shape[0]]
        return self.token_outputs(student, teacher, targets)

    def token_outputs(self, student, teacher, targets) -> dict:
        """The hook's outputs from student and teacher logits [tokens, vocab]: per-token loss and stats, [1, tokens]."""
        from curiosft.objectives import curiosft_token_losses

        per_token, stats = curiosft_token_losses(student, teacher, targets, schedule=self.schedule,
                                                 alpha=float(self.cfg.alpha), progress=self.progress,
                                                 chunk_size=int(self.cfg.chunk_size))
        values = {"curio_loss": per_token, **{field: stats[name] for field, name in HOOK_FIELDS.items()}}
        return {k: v.unsqueeze(0) for k, v in values.items()}

    def loss(self, model_output, data):
        from curiosft.methods.verl_batch import global_normalizer, response_mask
        from curiosft.objectives import masked_token_mean

        per_token = model_output["curio_loss"].values()
        mask = response_mask(data, per_token.dtype)
        loss = masked_token_mean(per_token, mask, global_normalizer(data))
        metrics = {"tokens": float(mask.sum())}
        for field, name in HOOK_FIELDS.items():
            metrics[f"{name}_sum"] = float((model_output[field].values().detach() * mask).sum())
        self.tau_histogram.add(model_output["curio_tau"].values()[mask.bool()])
        return loss, metrics

    # ------------------------------------------------------------------------------ step hooks
    def setup(self, trainer) -> None:
        from curiosft.methods.teacher import Teacher

        self.engine = trainer.engine
        self.teacher = Teacher.from_engine(trainer.engine, sync_every=int(self.cfg.sync_every),
                                           sync_mix=float(self.cfg.sync_mix))

    def train_step(self, trainer, data) -> list:
        from verl.utils import tensordict_utils as tu

        tu.assign_non_tensor(data, distillation_use_topk=True, distillation_only=True)
        self.progress = (trainer.step - 1) / max(1, trainer.total_training_steps - 1)
        return [trainer.engine_train_batch(data=data)]

    def step_metrics(self, trainer) -> dict[str, float]:
        metrics = {f"train/{k}": v for k, v in
                   self.tau_histogram.take_quantiles(trainer.engine.get_data_parallel_group()).items()}
        self.teacher.maybe_sync(trainer.engine.module, trainer.step)
        metrics["train/teacher_syncs"] = self.teacher.syncs
        return metrics

    def save(self, checkpoint_dir, rank: int) -> None:
        self.teacher.save(checkpoint_dir, rank)

    def load(self, checkpoint_dir, rank: int) -> None:
        self.teacher.load(checkpoint_dir, rank)
