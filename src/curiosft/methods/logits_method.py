"""A method whose per-token loss needs the full logits, and optionally a second model's logits.

verl's SFT engine keeps only per-token log-probs and entropy; the full [tokens, vocab] logits exist only
inside its forward pass. A `LogitsMethod` asks for them (`distillation_use_topk` in its train_step), and
verl calls `VerlLoss(student_logits=...)` there: `logits_hook` turns the student's logits (and, with
`reads_reference`, the reference copy's logits on the same packed inputs) into per-token losses and stats
with `token_losses`; verl then calls `loss`, which reduces them over the response tokens with the global
batch's token count, as verl's own sft_loss does.

The reference copy is one mechanism for every method that reads one (curiosft.methods.teacher.Teacher,
built by the student's own engine from the base model): CurioSFT's teacher, pulled toward the student every
`sync_every` steps, whose state is saved beside every checkpoint and restored on resume; ASFT's frozen
reference (`reference_sync` None), rebuilt from the base model on resume.

Torch-free at import, like every method module (the config schema imports the registry).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from curiosft.methods.base import Method

# the hook's per-token loss in verl's model_output; stats go under f"{STAT_PREFIX}{name}"
TOKEN_LOSS = "hook_loss"
STAT_PREFIX = "hook_"


class LogitsMethod(Method):
    """A method computing its per-token loss from the full logits inside verl's forward pass."""

    # per-token stats `token_losses` returns, logged as token means train/<name>
    token_stats: ClassVar[tuple[str, ...]] = ()
    # whether the loss reads a second copy of the base model (the teacher / reference)
    reads_reference: ClassVar[bool] = False

    def __init__(self, cfg, schedule=None) -> None:
        super().__init__(cfg, schedule)
        self.engine = None
        self.teacher = None

    # ------------------------------------------------------------------------------ the objective
    @abstractmethod
    def token_losses(self, student, reference, targets) -> tuple:
        """(per-token loss [tokens] with grad, {stat: [tokens] no grad}) from the student's logits
        [tokens, vocab], the reference's logits [tokens, vocab] (None unless `reads_reference`) and the
        next-token targets [tokens]."""

    def token_outputs(self, student, reference, targets) -> dict:
        """What the logits hook hands verl: the per-token loss and stats, each [1, tokens]."""
        per_token, stats = self.token_losses(student, reference, targets)
        values = {TOKEN_LOSS: per_token, **{f"{STAT_PREFIX}{name}": stats[name] for name in self.token_stats}}
        return {k: v.unsqueeze(0) for k, v in values.items()}

    def logits_hook(self, student_logits, data) -> dict:
        import torch

        student = student_logits.squeeze(0)
        targets = torch.roll(data["input_ids"].values(), shifts=-1, dims=0)[: student.shape[0]]
        reference = None
        if self.reads_reference:
            model_inputs, _ = self.engine.prepare_model_inputs(micro_batch=data)
            reference_logits = self.teacher.logits(model_inputs)
            reference = reference_logits.reshape(-1, reference_logits.shape[-1])[: student.shape[0]]
        return self.token_outputs(student, reference, targets)

    def loss(self, model_output, data):
        from curiosft.methods.verl_batch import global_normalizer, response_mask
        from curiosft.objectives import masked_token_mean

        per_token = model_output[TOKEN_LOSS].values()
        mask = response_mask(data, per_token.dtype)
        loss = masked_token_mean(per_token, mask, global_normalizer(data))
        metrics = {"tokens": float(mask.sum())}
        for name in self.token_stats:
            metrics[f"{name}_sum"] = float((model_output[f"{STAT_PREFIX}{name}"].values().detach() * mask).sum())
        return loss, metrics

    # ------------------------------------------------------------------------------ step hooks
    def reference_sync(self) -> tuple[int | None, float]:
        """(sync_every, sync_mix) of the reference copy; sync_every None keeps it frozen at the base model."""
        return None, 0.0

    def setup(self, trainer) -> None:
        self.engine = trainer.engine
        if self.reads_reference:
            from curiosft.methods.teacher import Teacher

            sync_every, sync_mix = self.reference_sync()
            self.teacher = Teacher.from_engine(trainer.engine, sync_every=sync_every, sync_mix=sync_mix)

    def train_step(self, trainer, data) -> list:
        from verl.utils import tensordict_utils as tu

        # verl: hand the full logits to the loss function inside the forward pass, skip its own policy loss
        tu.assign_non_tensor(data, distillation_use_topk=True, distillation_only=True)
        return [trainer.engine_train_batch(data=data)]

    def _syncing_teacher(self):
        """The reference copy when it changes during training (a frozen one is rebuilt from the base model)."""
        return self.teacher if self.teacher is not None and self.teacher.sync_every is not None else None

    def save(self, checkpoint_dir, rank: int) -> None:
        if teacher := self._syncing_teacher():
            teacher.save(checkpoint_dir, rank)

    def load(self, checkpoint_dir, rank: int) -> None:
        if teacher := self._syncing_teacher():
            teacher.load(checkpoint_dir, rank)
