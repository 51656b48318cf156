"""The `rl` group: GRPO after each SFT run (conf/rl/grpo.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from omegaconf import MISSING

from curiosft.defaults import GRADING_WORKERS
from curiosft.errors import choose, require


@dataclass
class RewardServiceConfig:
    """Where the RL reward comes from: a server started for the job, or one already running at `url`.

    A started server grades with the run's `scoring` section (grader, timeout); a server at `url`
    must report the same grader (GET /health), else the job stops before training."""

    url: Optional[str] = None
    # bearer token of the server at `url` (a started server gets a fresh random one)
    token: Optional[str] = None
    # grading worker processes of a started server (its grader and timeout: the `scoring` section)
    workers: int = GRADING_WORKERS
    # "rl": a </think> is required and only the text after it is graded; "eval": the whole response
    format: str = "rl"

    def __post_init__(self) -> None:
        require(self.workers >= 1, f"rl.reward.workers={self.workers} must be >= 1")
        choose(self.format, ("rl", "eval"), "rl.reward.format")
        require(self.url is None or self.url.startswith(("http://", "https://")),
                 f"rl.reward.url={self.url!r} must be an http(s):// URL (or null to start a server per job)")


@dataclass
class GRPOConfig:
    """The RL stage after each SFT checkpoint (docs/methods.md); one config for both backends.

    `verl`: verl.trainer.main_ppo (FSDP actor, vLLM rollout; GPUs). `local`: HF generate rollouts and
    verl's own GRPO advantage and policy loss on this machine (CPU, tests, the tiny default).
    """

    name: str = "grpo"
    backend: str = MISSING
    # rollouts per prompt, sampled at this temperature / top_p
    n_rollouts: int = MISSING
    temperature: float = MISSING
    top_p: float = MISSING
    # null: no top-k truncation
    top_k: Optional[int] = None
    # prompts per step; prompts per optimizer step (x n_rollouts sequences); epochs over each batch
    batch_size: int = MISSING
    mini_batch_size: int = MISSING
    micro_batch_size_per_device: int = MISSING
    ppo_epochs: int = 1
    lr: float = MISSING
    warmup_steps: int = 0
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    clip_ratio: float = MISSING
    # the release uses neither (0: off)
    kl_loss_coef: float = MISSING
    entropy_coeff: float = MISSING
    loss_agg_mode: str = MISSING
    # GRPO divides the group-centred reward by the group's std (False: Dr. GRPO)
    norm_adv_by_std: bool = MISSING
    # None: data.max_response_length
    max_response_length: Optional[int] = MISSING
    epochs: int = MISSING
    max_steps: Optional[int] = None
    save_freq: int = MISSING
    # local backend: torch threads and prompts per generate() call; verl backend: vLLM settings
    threads: int = 2
    rollout_batch_size: int = 64
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.6
    reward: RewardServiceConfig = field(default_factory=RewardServiceConfig)

    def __post_init__(self) -> None:
        choose(self.backend, ("verl", "local"), "rl.backend")
        require(self.n_rollouts >= 2, f"rl.n_rollouts={self.n_rollouts} must be >= 2 (GRPO compares a group)")
        require(self.temperature > 0, f"rl.temperature={self.temperature} must be > 0")
        require(0 < self.top_p <= 1, f"rl.top_p={self.top_p} must be in (0, 1]")
        require(self.top_k is None or self.top_k >= 1, f"rl.top_k={self.top_k} must be >= 1 (or null for off)")
        require(self.batch_size >= 1 and self.mini_batch_size >= 1, "rl.batch_size and rl.mini_batch_size must be >= 1")
        require(self.batch_size % self.mini_batch_size == 0,
                 f"rl.batch_size={self.batch_size} is not a multiple of rl.mini_batch_size={self.mini_batch_size}")
        require((self.mini_batch_size * self.n_rollouts) % self.micro_batch_size_per_device == 0,
                 f"rl.mini_batch_size x rl.n_rollouts = {self.mini_batch_size * self.n_rollouts} sequences do not split "
                 f"into micro-batches of rl.micro_batch_size_per_device={self.micro_batch_size_per_device}")
        require(self.ppo_epochs >= 1, f"rl.ppo_epochs={self.ppo_epochs} must be >= 1")
        require(self.lr > 0, f"rl.lr={self.lr} must be > 0")
        require(self.clip_ratio > 0, f"rl.clip_ratio={self.clip_ratio} must be > 0")
        require(self.kl_loss_coef >= 0 and self.entropy_coeff >= 0, "rl.kl_loss_coef and rl.entropy_coeff must be >= 0")
        choose(self.loss_agg_mode, ("token-mean", "seq-mean-token-sum", "seq-mean-token-mean"), "rl.loss_agg_mode")
        require(self.max_response_length is None or self.max_response_length >= 1,
                 f"rl.max_response_length={self.max_response_length} must be >= 1")
        require(self.epochs >= 1, f"rl.epochs={self.epochs} must be >= 1")
        require(self.max_steps is None or self.max_steps >= 1, f"rl.max_steps={self.max_steps} must be >= 1")
        require(self.save_freq >= 1, f"rl.save_freq={self.save_freq} must be >= 1")
        require(self.threads >= 1 and self.rollout_batch_size >= 1, "rl.threads and rl.rollout_batch_size must be >= 1")
