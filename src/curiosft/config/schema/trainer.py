"""The `trainer` section: the SFT stage's optimisation settings (conf/experiment/*.yaml set them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from curiosft.errors import choose, require


@dataclass
class TrainerConfig:
    """The SFT stage's optimisation settings (shared by every method)."""

    lr: float = 1e-5
    lr_scheduler: str = "cosine"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    global_batch_size: int = 256
    micro_batch_size_per_device: int = 1
    epochs: int = 1
    # stop after this many optimizer steps (None: run the epochs out)
    max_steps: Optional[int] = None
    # checkpoint every N steps (the final step always saves)
    save_freq: int = 100
    loggers: list[str] = field(default_factory=lambda: ["console", "file"])

    def __post_init__(self) -> None:
        require(self.lr > 0, f"trainer.lr={self.lr} must be > 0")
        choose(self.lr_scheduler, ("cosine", "constant"), "trainer.lr_scheduler")
        require(self.global_batch_size >= 1, f"trainer.global_batch_size={self.global_batch_size} must be >= 1")
        require(
            self.micro_batch_size_per_device >= 1,
            f"trainer.micro_batch_size_per_device={self.micro_batch_size_per_device} must be >= 1",
        )
        require(self.epochs >= 1, f"trainer.epochs={self.epochs} must be >= 1")
        require(self.max_steps is None or self.max_steps >= 1, f"trainer.max_steps={self.max_steps} must be >= 1")
