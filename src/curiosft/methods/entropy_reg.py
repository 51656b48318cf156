"""Baseline: SFT minus beta times the student's token entropy (objectives.entropy_reg_loss).

verl's forward gives the entropy with its gradient (computed from the logits it keeps for the loss), so
the loss is the pure function on verl's per-token log-probs and entropies.
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING

from curiosft.errors import require
from curiosft.methods.base import Method, MethodConfig
from curiosft.methods.registry import register_method


@dataclass
class EntropyRegConfig(MethodConfig):
    name: str = "entropy_reg"
    # L = L_SFT - beta * H(pi)
    beta: float = MISSING

    def __post_init__(self) -> None:
        require(self.beta >= 0, f"method.beta={self.beta} must be >= 0")


@register_method
class EntropyReg(Method):
    name = "entropy_reg"
    config = EntropyRegConfig
    label = "Entropy reg."
    order = 40

    def loss(self, model_output, data):
        from curiosft.methods.verl_batch import flat_log_probs, global_normalizer
        from curiosft.objectives import entropy_reg_loss

        log_prob, mask = flat_log_probs(model_output, data)
        entropy = model_output["entropy"].values()
        return entropy_reg_loss(log_prob, entropy, mask, float(self.cfg.beta), normalizer=global_normalizer(data))
