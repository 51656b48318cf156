"""Baseline EAFT: NLL weighted by the token's normalised top-20 entropy (objectives.eaft_token_losses).

The weight needs the top-k logits of every response token, so EAFT is a LogitsMethod without a reference
copy. Source: arXiv 2601.02151; released in LLaMA-Factory (`use_eaft_loss`, PyPI llamafactory 0.9.5).
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING

from curiosft.errors import require
from curiosft.methods.base import MethodConfig
from curiosft.methods.logits_method import LogitsMethod
from curiosft.methods.registry import register_method


@dataclass
class EAFTConfig(MethodConfig):
    name: str = "eaft"
    # w_t = (H_top_k(pi_t) / entropy_scale) ** alpha
    alpha: float = MISSING
    top_k: int = MISSING
    entropy_scale: float = MISSING
    # tokens per chunk in the loss (bounds the [tokens x vocab] temporaries)
    chunk_size: int = 1024

    def __post_init__(self) -> None:
        require(self.alpha >= 0, f"method.alpha={self.alpha} must be >= 0")
        require(self.top_k >= 2, f"method.top_k={self.top_k} must be >= 2 (the entropy of one logit is 0)")
        require(self.entropy_scale > 0, f"method.entropy_scale={self.entropy_scale} must be > 0")
        require(self.chunk_size >= 1, f"method.chunk_size={self.chunk_size} must be >= 1")


@register_method
class EAFT(LogitsMethod):
    name = "eaft"
    config = EAFTConfig
    label = "EAFT"
    order = 60
    token_stats = ("nll", "eaft_weight", "top_entropy")

    def token_losses(self, student, reference, targets) -> tuple:
        from curiosft.objectives import eaft_token_losses

        return eaft_token_losses(student, targets, alpha=float(self.cfg.alpha), top_k=int(self.cfg.top_k),
                                 entropy_scale=float(self.cfg.entropy_scale), chunk_size=int(self.cfg.chunk_size))
