"""What a method is: its config schema and its objective on verl's SFT trainer, with optional step hooks.

A method module (one per method, in this package) declares

    @dataclass
    class PSFTConfig(MethodConfig):             # the schema of conf/method/psft.yaml (Hydra group `method`)
        name: str = "psft"
        clip_high: float = MISSING                # released values live in conf/, the schema types and checks them

    @register_method
    class PSFT(Method):
        name = "psft"
        config = PSFTConfig
        def loss(self, model_output, data): ...   # built on the pure function in curiosft.objectives

and the registry (curiosft.methods) finds it: the config schema, the sweep and workflow checks and the
trainer all read the registry, so adding a method is that module plus its conf/method/<name>.yaml.

Hooks, all optional except `loss` (the trainer is curiosft.verl_ext.sft_trainer.CuriosftSFTTrainer):
- setup(trainer): after verl's engine is built, before a checkpoint is loaded (CurioSFT builds its teacher);
- logits_hook(student_logits, data): per-token outputs computed where the full logits exist (verl's
  `distillation_use_topk` path); `loss` then reads them from model_output (the shared base of such
  methods: curiosft.methods.logits_method.LogitsMethod);
- train_step(trainer, data): one optimizer step's engine calls (PSFT: old log-probs, then K mini-batches);
- step_metrics(trainer): extra metrics once per step (all ranks call it);
- save(checkpoint_dir, rank) / load(checkpoint_dir, rank): state beside verl's checkpoint.

This module is torch-free at import (the config schema and the workflow import the registry); methods
import torch and verl inside their hooks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from omegaconf import MISSING


@dataclass
class MethodConfig:
    """The fields every method config has (conf/method/<name>.yaml extends its method's schema)."""

    name: str = MISSING
    # whether the objective has a tempered teacher, and so a temperature schedule (CurioSFT); a method that only
    # reads a frozen reference copy (ASFT) does not (curiosft.methods.logits_method.LogitsMethod.reads_reference)
    uses_teacher: bool = False


class Method(ABC):
    """One SFT objective on verl's trainer; instances are built per run from the composed config."""

    name: ClassVar[str]
    config: ClassVar[type[MethodConfig]]
    # how tables and figures name it, and its row order there
    label: ClassVar[str] = ""
    order: ClassVar[int] = 100

    def __init__(self, cfg: Any, schedule: Any = None) -> None:
        """cfg: the run's `method` section; schedule: its `schedule` section (teacher methods)."""
        self.cfg = cfg
        self.schedule_cfg = schedule

    @classmethod
    def uses_teacher(cls) -> bool:
        return bool(cls.config.uses_teacher)

    # ------------------------------------------------------------------------------ the objective
    @abstractmethod
    def loss(self, model_output, data):
        """verl's loss on one packed micro-batch: (scalar loss with grad, metrics of `<name>_sum` floats and
        `tokens`). model_output holds jagged per-token `log_probs` and `entropy` (and the logits hook's
        outputs); the loss is normalised by the global batch's tokens (curiosft.methods.verl_batch)."""

    def logits_hook(self, student_logits, data) -> dict:
        """Per-token outputs [1, tokens] from the student's full logits [1, tokens, vocab] (with grad).

        verl calls it only when the step asked for it (`distillation_use_topk` in the method's train_step)."""
        raise RuntimeError(f"verl passed student logits to method {self.name!r}, whose train_step did not ask "
                           "for them (distillation_use_topk) and which defines no logits_hook")

    # ------------------------------------------------------------------------------ step hooks
    def setup(self, trainer) -> None:
        pass

    def train_step(self, trainer, data) -> list:
        """The engine calls of one optimizer step on a global batch; returns their outputs."""
        return [trainer.engine_train_batch(data=data)]

    def step_metrics(self, trainer) -> dict[str, float]:
        return {}

    def save(self, checkpoint_dir: Path, rank: int) -> None:
        pass

    def load(self, checkpoint_dir: Path, rank: int) -> None:
        pass
