"""Baseline ASFT: DFT plus alpha * KL(reference || student) (objectives.asft_token_losses).

The KL term reads the frozen base model's full logits, so ASFT is a LogitsMethod with a reference copy
(the same Teacher machinery as CurioSFT, never synced). Source: arXiv 2509.23753; released in
LLaMA-Factory (`use_asft_loss`, PyPI llamafactory 0.9.5).
"""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING

from curiosft.errors import require
from curiosft.methods.base import MethodConfig
from curiosft.methods.logits_method import LogitsMethod
from curiosft.methods.registry import register_method


@dataclass
class ASFTConfig(MethodConfig):
    name: str = "asft"
    # weight of the KL(reference || student) term
    alpha: float = MISSING
    # tokens per chunk in the loss (bounds the [tokens x vocab] temporaries)
    chunk_size: int = 1024

    def __post_init__(self) -> None:
        require(self.alpha >= 0, f"method.alpha={self.alpha} must be >= 0")
        require(self.chunk_size >= 1, f"method.chunk_size={self.chunk_size} must be >= 1")


@register_method
class ASFT(LogitsMethod):
    name = "asft"
    config = ASFTConfig
    label = "ASFT"
    order = 70
    token_stats = ("nll", "kl")
    reads_reference = True

    def token_losses(self, student, reference, targets) -> tuple:
        from curiosft.objectives import asft_token_losses

        return asft_token_losses(student, reference, targets, alpha=float(self.cfg.alpha),
                                 chunk_size=int(self.cfg.chunk_size))
