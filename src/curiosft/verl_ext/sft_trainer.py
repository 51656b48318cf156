"""verl's SFT trainer with the objective and step hooks of the run's method (curiosft.methods).

Subclasses `verl.trainer.sft_trainer.SFTTrainer` (its data pipeline, FSDP2 engine, checkpointing,
resume and tracking are used as they are) and changes two things:
- the loss function (verl hard-codes `sft_loss`): `VerlLoss(method)`, the registered method's loss;
- one training step, wrapped around the engine's `train_batch`: entropy is requested from the forward
  pass for every method, the method's `train_step` makes the engine calls (PSFT: old log-probs, then K
  mini-batches; CurioSFT: its teacher inside the forward pass), then its `step_metrics`; metrics are
  aggregated exactly over micro-batches and ranks. A method's own state (CurioSFT's teacher) is saved
  beside every checkpoint and restored on resume.
And it stops at a safe point when asked (curiosft.preemption: the file named by CURIOSFT_STOP_FILE exists):
after a step, it makes that step verl's last (verl saves it, then returns from fit); after a save, it
returns at once (`TrainingStopped`). Every rank takes the same decision (rank 0's view, broadcast).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch
from verl.trainer.sft_trainer import SFTTrainer
from verl.utils import tensordict_utils as tu

from curiosft.io import write_json
from curiosft.methods import build_method
from curiosft.methods.verl_batch import VerlLoss, aggregate
from curiosft.preemption import STOP_FILE_ENV
from curiosft.runs import check_steps_fit_the_data


class TrainingStopped(Exception):
    """fit() left after the save of `step`, on a stop request (curiosft.preemption)."""

    def __init__(self, step: int) -> None:
        super().__init__(f"stopped after the checkpoint of step {step}")
        self.step = step


class CuriosftSFTTrainer(SFTTrainer):
    def __init__(self, config, *, method, schedule) -> None:
        """config: verl's trainer config; method, schedule: the run's curiosft config sections."""
        self.method = build_method(method, schedule)
        self.stop_file = os.environ.get(STOP_FILE_ENV)
        self.stopping = False
        super().__init__(config)
        check_steps_fit_the_data(self.config.trainer.total_training_steps, self.steps_per_epoch,
                                 int(self.config.trainer.total_epochs), "trainer")
        self.step = self.resume_global_step
        if self.rank == 0:
            # lets a restarted job see that a run is already complete (verl would train one step more)
            write_json(Path(self.config.trainer.default_local_dir).parent / "progress.json",
                       {"total_training_steps": int(self.total_training_steps)})
        if self.step > 0:
            self.method.load(self._checkpoint_dir(self.step), self.rank)

    def _build_engine(self) -> None:
        super()._build_engine()
        self.loss_fn = VerlLoss(self.method)
        self.training_client.set_loss_fn(loss_fn=self.loss_fn)
        self.engine_train_batch = self.training_client.train_batch
        self.training_client.train_batch = self.train_step

    def _build_dataloader(self) -> None:
        super()._build_dataloader()
        # verl's SFTTrainer leaves the sampler at seed 0: every seed of a sweep saw the same data order
        self.train_sampler.seed = int(self.config.trainer.seed)

    def _build_ckpt_handler(self) -> None:
        # the method's state is built before checkpoints load: on resume its saved state replaces it afterwards
        self.method.setup(self)
        super()._build_ckpt_handler()
        save = self.ckpt_handler.save_checkpoint

        def save_with_method_state(step, *args, **kwargs):
            # the method's state first: verl marks a checkpoint complete (its tracker file) only at the end of its save
            self.method.save(self._checkpoint_dir(step), self.rank)
            saved = save(step, *args, **kwargs)
            if not self.stopping and self._stop_requested():
                self._log_stop(f"after the checkpoint of step {step}")
                raise TrainingStopped(step)
            return saved

        self.ckpt_handler.save_checkpoint = save_with_method_state
        self._skip_exhausted_dataloader_state()

    def _skip_exhausted_dataloader_state(self) -> None:
        """Resuming from a checkpoint on an epoch's last batch must not restore the data loader's state
        (verl issue 7401, open in 0.9.1; the fix verl merged for its PPO trainer in PR 5725): that state marks the
        epoch exhausted, fit() has already moved on to the next epoch, and the restored iterator would yield
        that epoch 0 batches, so the run ended with exit 0 and an epoch short. At the boundary the state holds
        no position, and the next epoch's order comes from its sampler seed and epoch, as in an unbroken run."""
        from verl.utils.checkpoint.checkpoint_handler import extract_step

        restore, steps_per_epoch = self.ckpt_handler._load_dataloader_state, len(self.train_dataloader)

        def restore_unless_at_an_epoch_boundary(checkpoint_path: str) -> None:
            step = extract_step(checkpoint_path)
            if step and steps_per_epoch and step % steps_per_epoch == 0:
                return
            restore(checkpoint_path)

        self.ckpt_handler._load_dataloader_state = restore_unless_at_an_epoch_boundary

    def _stop_requested(self) -> bool:
        """Whether the job asked to stop, as rank 0 sees it (a collective: every rank calls it at the same
        point, and all get the same answer). False when no stop file is configured."""
        if not self.stop_file:
            return False
        flag = torch.tensor([float(self.rank == 0 and os.path.exists(self.stop_file))], device=self.device_name)
        if torch.distributed.is_initialized():
            torch.distributed.broadcast(flag, src=0)
        return bool(flag.item())

    def _stop_after_this_step(self) -> None:
        """On a stop request, the step just trained becomes verl's last: fit() saves it and returns."""
        if not self.stopping and self.step < self.total_training_steps and self._stop_requested():
            self.stopping = True
            self._log_stop(f"at step {self.step} of {self.total_training_steps}: saving it")
            self.total_training_steps = self.step

    def _log_stop(self, where: str) -> None:
        if self.rank == 0:
            print(f"curiosft: stop requested; stopping {where}", flush=True)

    def _checkpoint_dir(self, step: int) -> Path:
        return Path(self.config.trainer.default_local_dir) / f"global_step_{step}"

    # ------------------------------------------------------------------------------------ one step
    def train_step(self, data):
        """One optimizer step of the method on a global batch (what SFTTrainer.fit calls)."""
        started = time.perf_counter()
        tu.assign_non_tensor(data, calculate_entropy=True)
        self.step += 1
        outputs = self.method.train_step(self, data)
        extra_metrics = self.method.step_metrics(self)
        merged = self._merge_outputs(outputs)
        if merged is not None:
            metrics = tu.get(merged, "metrics")
            metrics.update(extra_metrics)
            metrics["perf/step_seconds"] = time.perf_counter() - started
        self._stop_after_this_step()
        return merged

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
