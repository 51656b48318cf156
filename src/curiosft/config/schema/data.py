"""The `data` group: SFT demonstrations and RL prompts (conf/data/*.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING

from curiosft.errors import choose, require


@dataclass
class DataConfig:
    name: str = MISSING
    # SFT demonstrations: parquet with a verl `messages` column
    sft_train: str = MISSING
    # RL prompts: parquet with data_source / prompt / reward_model.ground_truth
    rl_train: str = MISSING
    max_prompt_length: int = 1024
    max_response_length: int = 8192
    # SFT rows longer than max_prompt_length + max_response_length tokens (the model's tokenizer and chat
    # template): "error" stops before training, naming them; "drop" trains without them (logged)
    overlong: str = "error"

    def __post_init__(self) -> None:
        choose(self.overlong, ("error", "drop"), "data.overlong")
        require(self.max_prompt_length > 0, f"data.max_prompt_length={self.max_prompt_length} must be > 0")
        require(self.max_response_length > 0, f"data.max_response_length={self.max_response_length} must be > 0")
