"""verl's SFT trainer with the objective taken from the curiosft `method` config.

Subclasses `verl.trainer.sft_trainer.SFTTrainer` (its data pipeline, FSDP2 engine, checkpointing,
resume and tracking are used as they are) and changes two things:
- the loss function (verl hard-codes `sft_loss`),
- one training step, wrapped around the engine's `train_batch`: entropy is requested from the forward
  pass for every method; PSFT computes the old log-probs once per global batch and then takes K
  mini-batch steps; CurioSFT runs its teacher inside the forward pass (verl's logits hook) and syncs it
  every `sync_every` steps; metrics are aggregated exactly over micro-batches and ranks.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from verl.trainer.sft_trainer import SFTTrainer
from verl.utils import tensordict_utils as tu

from curiosft.io import write_json
from curiosft.verl_ext.losses import OLD_LOG_PROBS, CurioSFTLoss, ObjectiveLoss, aggregate
from curiosft.verl_ext.teacher import Teacher


class CuriosftSFTTrainer(SFTTrainer):
    def __init__(self, config, *, method, schedule) -> None:
        self.method = method
        self.schedule = schedule
        self.teacher: Teacher | None = None
        super().__init__(config)
        self.step = self.resume_global_step
        if self.rank == 0:
            # lets a restarted job see that a run is already complete (verl would train one step more)
            write_json(Path(self.config.trainer.default_local_dir).parent / "progress.json",
                       {"total_training_steps": int(self.total_training_steps)})
        if self.teacher is not None and self.step > 0:
            self.teacher.load(self._checkpoint_dir(self.step), self.rank)

    def _build_engine(self) -> None:
        super()._build_engine()
        if self.method.uses_teacher:
            self.loss_fn = CurioSFTLoss(self.method, self.schedule, engine=self.engine, teacher=None)
        else:
            self.loss_fn = ObjectiveLoss(self.method)
        self.training_client.set_loss_fn(loss_fn=self.loss_fn)
        self._engine_train_batch = self.training_client.train_batch
        self.training_client.train_batch = self.train_step

    def _build_dataloader(self) -> None:
        super()._build_dataloader()
        # verl's SFTTrainer leaves the sampler at seed 0: every seed of a sweep saw the same data order
        self.train_sampler.seed = int(self.config.trainer.seed)

    def _build_ckpt_handler(self) -> None:
        # built before checkpoints load: on resume its saved state replaces the base weights afterwards
        if self.method.uses_teacher:
            self.teacher = Teacher.from_engine(self.engine, sync_every=self.method.sync_every,
                                               sync_mix=self.method.sync_mix)
            self.loss_fn.teacher = self.teacher
        super()._build_ckpt_handler()
        save = self.ckpt_handler.save_checkpoint

        def save_with_teacher(step, *args, **kwargs):
            # teacher first: verl marks a checkpoint complete (its tracker file) only at the end of its save
            if self.teacher is not None:
                self.teacher.save(self._checkpoint_dir(step), self.rank)
            return save(step, *args, **kwargs)

        self.ckpt_handler.save_checkpoint = save_with_teacher

    def _checkpoint_dir(self, step: int) -> Path:
        return Path(self.config.trainer.default_local_dir) / f"global_step_{step}"

    # ------------------------------------------------------------------------------------ one step
    def train_step(self, data):
        """One optimizer step of the method on a global batch (what SFTTrainer.fit calls)."""
        started = time.perf_counter()
        extra_metrics = {}
        tu.assign_non_tensor(data, calculate_entropy=True)
        self.step += 1
        if self.method.name == "psft":
            outputs = self._psft_step(data)
        elif self.teacher is not None:
            tu.assign_non_tensor(data, distillation_use_topk=True, distillation_only=True)
            self.loss_fn.progress = (self.step - 1) / max(1, self.total_training_steps - 1)
            outputs = [self._engine_train_batch(data=data)]
            extra_metrics = {f"train/{k}": v for k, v in
                             self.loss_fn.take_tau_quantiles(self.engine.get_data_parallel_group()).items()}
            self.teacher.maybe_sync(self.engine.module, self.step)
        else:
            outputs = [self._engine_train_batch(data=data)]
        merged = self._merge_outputs(outputs)
        if merged is not None:
            metrics = tu.get(merged, "metrics")
            metrics.update(extra_metrics)
            metrics["perf/step_seconds"] = time.perf_counter() - started
            if self.teacher is not None:
                metrics["train/teacher_syncs"] = self.teacher.syncs
        return merged

    def _psft_step(self, data):
        """PPO-style: old log-probs from the model at the start of the step, then K mini-batch updates."""
        k = int(self.method.num_mini_batches)
        batch_size = len(data)
        if batch_size % k:
            raise ValueError(
                f"PSFT splits each per-rank batch of {batch_size} sequences into method.num_mini_batches={k}; "
                "choose a trainer.global_batch_size that is a multiple of num_mini_batches x data-parallel size"
            )
        old = self.training_client.infer_batch(data)
        old_log_probs = tu.get(old, "log_probs") if old is not None else None
        if old_log_probs is None:
            raise RuntimeError("verl's infer_batch returned no log_probs for PSFT's old policy")
        data[OLD_LOG_PROBS] = old_log_probs.detach()
        outputs = []
        for i, mini_batch in enumerate(tu.chunk_tensordict(data, k)):
            # the learning-rate schedule advances once per global step, as in the release
            tu.assign_non_tensor(mini_batch, update_lr_scheduler=(i == k - 1))
            outputs.append(self._engine_train_batch(data=mini_batch))
        return outputs

    @staticmethod
    def _merge_outputs(outputs):
        """One metrics dict per step: exact token means; loss, grad norm averaged over mini-batches."""
        if outputs[0] is None:  # not the rank that reports
            return None
        merged = {}
        for out in outputs:
            for key, value in tu.get(out, "metrics").items():
                merged.setdefault(key, []).append(value)
        metrics = {f"train/{k}": v for k, v in aggregate({k: v for k, v in merged.items()
                                                           if k.endswith("_sum") or k == "tokens"}).items()}
        for key in ("loss", "grad_norm", "mfu"):
            if key in merged:
                metrics[key] = float(torch.tensor(merged[key], dtype=torch.float64).mean())
        if "lr" in merged:
            metrics["lr"] = merged["lr"][-1]
        for key, values in merged.items():
            if key.startswith("perf/"):
                metrics[key] = values[-1]
        if len(outputs) > 1:
            metrics["train/mini_batches"] = len(outputs)
        final = tu.get(outputs[-1], "metrics")
        final.clear()
        final.update(metrics)
        return outputs[-1]
