"""PSFT: PPO's clipped objective with advantage +1 against the model at the start of each global batch
(objectives.psft_loss); its step hook takes the old log-probs once, then K mini-batch optimizer steps."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING

from curiosft.errors import ConfigError, require
from curiosft.methods.base import Method, MethodConfig
from curiosft.methods.registry import register_method

# the micro-batch key of the old policy's log-probs (jagged, like verl's log_probs)
OLD_LOG_PROBS = "curiosft_old_log_probs"


@dataclass
class PSFTConfig(MethodConfig):
    name: str = "psft"
    clip_low: float = MISSING
    clip_high: float = MISSING
    # log-ratio clamp before exp (numerical guard of the release)
    log_ratio_clamp: float = MISSING
    # K optimizer steps per global batch against one set of old log-probs
    num_mini_batches: int = MISSING

    def __post_init__(self) -> None:
        require(0 <= self.clip_low < 1, f"method.clip_low={self.clip_low} must be in [0, 1)")
        require(self.clip_high > 0, f"method.clip_high={self.clip_high} must be > 0")
        require(self.log_ratio_clamp > 0, f"method.log_ratio_clamp={self.log_ratio_clamp} must be > 0")
        require(self.num_mini_batches >= 1, f"method.num_mini_batches={self.num_mini_batches} must be >= 1")


@register_method
class PSFT(Method):
    name = "psft"
    config = PSFTConfig
    label = "PSFT"
    order = 20

    def loss(self, model_output, data):
        from curiosft.methods.verl_batch import flat_log_probs, global_normalizer
        from curiosft.objectives import psft_loss

        log_prob, mask = flat_log_probs(model_output, data)
        # no old log-probs (e.g. verl evaluating the loss outside a step): the ratio is 1, SFT's gradient
        old = data[OLD_LOG_PROBS].values() if OLD_LOG_PROBS in data.keys() else log_prob.detach()
        return psft_loss(log_prob, old, mask, float(self.cfg.clip_low), float(self.cfg.clip_high),
                         log_ratio_clamp=float(self.cfg.log_ratio_clamp), normalizer=global_normalizer(data))

    def train_step(self, trainer, data) -> list:
        """Old log-probs from the model at the start of the step, then K mini-batch updates."""
        from verl.utils import tensordict_utils as tu

        k = int(self.cfg.num_mini_batches)
        if len(data) % k:
            raise ConfigError(
                f"PSFT splits each per-rank batch of {len(data)} sequences into method.num_mini_batches={k}; "
                "choose a trainer.global_batch_size that is a multiple of num_mini_batches x data-parallel size"
            )
        old = trainer.training_client.infer_batch(data)
        old_log_probs = tu.get(old, "log_probs") if old is not None else None
        if old_log_probs is None:
            raise RuntimeError("verl's infer_batch returned no log_probs for PSFT's old policy")
        data[OLD_LOG_PROBS] = old_log_probs.detach()
        outputs = []
        for i, mini_batch in enumerate(tu.chunk_tensordict(data, k)):
            # the learning-rate schedule advances once per global step, as in the release
            tu.assign_non_tensor(mini_batch, update_lr_scheduler=(i == k - 1))
            outputs.append(trainer.engine_train_batch(data=mini_batch))
        return outputs
