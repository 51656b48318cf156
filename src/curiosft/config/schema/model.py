"""The `model` group: the base model to fine-tune (conf/model/*.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from omegaconf import MISSING

from curiosft.errors import choose


@dataclass
class ModelConfig:
    name: str = MISSING
    # local directory or hub id of a Hugging Face causal LM
    path: str = MISSING
    # hub revision to pin when `path` is a hub id
    revision: Optional[str] = None
    dtype: str = "bfloat16"
    attn_implementation: str = "sdpa"
    gradient_checkpointing: bool = False

    def __post_init__(self) -> None:
        choose(self.dtype, ("float32", "bfloat16"), "model.dtype")
