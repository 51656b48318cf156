"""Plain SFT: the token-mean negative log-likelihood of the demonstration (objectives.sft_loss)."""

from __future__ import annotations

from dataclasses import dataclass

from curiosft.methods.base import Method, MethodConfig
from curiosft.methods.registry import register_method


@dataclass
class SFTConfig(MethodConfig):
    name: str = "sft"


@register_method
class SFT(Method):
    name = "sft"
    config = SFTConfig
    label = "SFT"
    order = 10

    def loss(self, model_output, data):
        from curiosft.methods.verl_batch import flat_log_probs, global_normalizer
        from curiosft.objectives import sft_loss

        log_prob, mask = flat_log_probs(model_output, data)
        return sft_loss(log_prob, mask, normalizer=global_normalizer(data))
