"""The `world` section: the embedded tiny world (synthetic data, tokenizer, tiny base model)."""

from __future__ import annotations

from dataclasses import dataclass, field

from curiosft.errors import require


@dataclass
class WorldModelConfig:
    """Shape of the tiny Qwen2-architecture base model."""

    hidden_size: int = 128
    num_layers: int = 4
    num_heads: int = 4
    num_kv_heads: int = 2
    intermediate_size: int = 512
    max_position_embeddings: int = 256

    def __post_init__(self) -> None:
        require(self.hidden_size % self.num_heads == 0, "world.model.hidden_size must be divisible by num_heads")
        require(self.num_heads % self.num_kv_heads == 0, "world.model.num_heads must be divisible by num_kv_heads")


@dataclass
class WorldPretrainConfig:
    steps: int = 1500
    batch_size: int = 64
    lr: float = 3e-3
    warmup_steps: int = 100
    weight_decay: float = 0.01
    threads: int = 2
    # greedy-decode this many test problems to report the base model's accuracy (0: skip)
    eval_problems: int = 200


@dataclass
class WorldConfig:
    """The embedded tiny world: synthetic arithmetic data, a local tokenizer and a tiny base model."""

    seed: int = 0
    vocab_size: int = 384
    # operand digit ranges [lo, hi]
    pretrain_digits: list[int] = field(default_factory=lambda: [1, 3])
    train_digits: list[int] = field(default_factory=lambda: [2, 4])
    test_digits: list[int] = field(default_factory=lambda: [2, 4])
    n_pretrain: int = 20000
    n_sft: int = 2000
    n_rl: int = 1000
    n_test_id: int = 200
    n_test_mc: int = 200
    n_choices: int = 4
    # share of pretraining transcripts in the multiple-choice form of the tiny_mc test set
    pretrain_mc_fraction: float = 0.25
    model: WorldModelConfig = field(default_factory=WorldModelConfig)
    pretrain: WorldPretrainConfig = field(default_factory=WorldPretrainConfig)

    def __post_init__(self) -> None:
        for key in ("pretrain_digits", "train_digits", "test_digits"):
            lo, hi = getattr(self, key)
            require(1 <= lo <= hi <= 12, f"world.{key}={[lo, hi]} must satisfy 1 <= lo <= hi <= 12")
        require(2 <= self.n_choices <= 10, f"world.n_choices={self.n_choices} must be in [2, 10]")
        require(0 <= self.pretrain_mc_fraction <= 1,
                 f"world.pretrain_mc_fraction={self.pretrain_mc_fraction} must be in [0, 1]")
