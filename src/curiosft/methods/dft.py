"""Baseline DFT: -sg(pi(y_t)) * log pi(y_t) (objectives.dft_loss)."""

from __future__ import annotations

from dataclasses import dataclass

from curiosft.methods.base import Method, MethodConfig
from curiosft.methods.registry import register_method


@dataclass
class DFTConfig(MethodConfig):
    name: str = "dft"


@register_method
class DFT(Method):
    name = "dft"
    config = DFTConfig
    label = "DFT"
    order = 50

    def loss(self, model_output, data):
        from curiosft.methods.verl_batch import flat_log_probs, global_normalizer
        from curiosft.objectives import dft_loss

        log_prob, mask = flat_log_probs(model_output, data)
        return dft_loss(log_prob, mask, normalizer=global_normalizer(data))
