"""Structured (dataclass) schemas for the Hydra config tree in conf/.

Every group option in conf/ starts from one of these schemas, so a mistyped or unknown key fails at
composition with a message naming it, and `validate()` (OmegaConf.to_object) runs each __post_init__
check. Defaults here are neutral; the released hyper-parameters live in conf/experiment/paper.yaml and
in the method/schedule options (see docs/methods.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from curiosft.released import ENTROPY_GUIDED


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _choose(value: str, choices: tuple[str, ...], what: str) -> None:
    _require(value in choices, f"unknown {what} {value!r}; choose one of {', '.join(choices)}")


# --------------------------------------------------------------------------------------------- method
@dataclass
class MethodConfig:
    name: str = MISSING
    # Whether the objective needs a teacher copy (and so a temperature schedule).
    uses_teacher: bool = False


@dataclass
class SFTMethod(MethodConfig):
    name: str = "sft"


@dataclass
class PSFTMethod(MethodConfig):
    name: str = "psft"
    clip_low: float = 0.2
    clip_high: float = 0.28
    # log-ratio clamp before exp (numerical guard of the release)
    log_ratio_clamp: float = 20.0
    # K optimizer steps per global batch against one set of old log-probs (released 64/8 -> 8)
    num_mini_batches: int = 8

    def __post_init__(self) -> None:
        _require(0 <= self.clip_low < 1, f"method.clip_low={self.clip_low} must be in [0, 1)")
        _require(self.clip_high > 0, f"method.clip_high={self.clip_high} must be > 0")
        _require(self.num_mini_batches >= 1, f"method.num_mini_batches={self.num_mini_batches} must be >= 1")


@dataclass
class CurioSFTMethod(MethodConfig):
    name: str = "curiosft"
    uses_teacher: bool = True
    # weight of the 0.5 * (log pi - log q)^2 distillation term
    alpha: float = 1.0
    # teacher <- (1 - sync_mix) * teacher + sync_mix * student every sync_every steps
    sync_every: int = 5
    sync_mix: float = 0.99
    # tokens per chunk in the loss head (bounds the [tokens x vocab] temporaries)
    chunk_size: int = 1024

    def __post_init__(self) -> None:
        _require(self.alpha >= 0, f"method.alpha={self.alpha} must be >= 0")
        _require(self.sync_every >= 1, f"method.sync_every={self.sync_every} must be >= 1")
        _require(0 <= self.sync_mix <= 1, f"method.sync_mix={self.sync_mix} must be in [0, 1]")
        _require(self.chunk_size >= 1, f"method.chunk_size={self.chunk_size} must be >= 1")


@dataclass
class EntropyRegMethod(MethodConfig):
    name: str = "entropy_reg"
    # L = L_SFT - beta * H(pi)
    beta: float = 0.01

    def __post_init__(self) -> None:
        _require(self.beta >= 0, f"method.beta={self.beta} must be >= 0")


@dataclass
class DFTMethod(MethodConfig):
    name: str = "dft"


METHOD_SCHEMAS: dict[str, type[MethodConfig]] = {
    "sft": SFTMethod,
    "psft": PSFTMethod,
    "curiosft": CurioSFTMethod,
    "entropy_reg": EntropyRegMethod,
    "dft": DFTMethod,
}


def method_uses_teacher(name: str) -> bool:
    _choose(name, tuple(METHOD_SCHEMAS), "method")
    return METHOD_SCHEMAS[name]().uses_teacher


# ------------------------------------------------------------------------------------------- schedule
@dataclass
class ScheduleConfig:
    name: str = MISSING


@dataclass
class NoSchedule(ScheduleConfig):
    """What methods without a teacher (sft, psft, ...) carry: nothing to schedule."""

    name: str = "none"


@dataclass
class EntropyGuidedSchedule(ScheduleConfig):
    name: str = "entropy_guided"
    tau_min: float = ENTROPY_GUIDED["tau_min"]
    tau_max: float = ENTROPY_GUIDED["tau_max"]
    top_k: int = ENTROPY_GUIDED["top_k"]
    b: float = ENTROPY_GUIDED["b"]
    c: float = ENTROPY_GUIDED["c"]
    h0: float = ENTROPY_GUIDED["h0"]
    eps_h: float = ENTROPY_GUIDED["eps_h"]
    iters: int = ENTROPY_GUIDED["iters"]

    def __post_init__(self) -> None:
        _require(0 < self.tau_min <= self.tau_max, f"schedule tau range [{self.tau_min}, {self.tau_max}] is empty")
        _require(self.top_k >= 2, f"schedule.top_k={self.top_k} must be >= 2")
        _require(self.iters >= 1, f"schedule.iters={self.iters} must be >= 1")


@dataclass
class FixedSchedule(ScheduleConfig):
    name: str = "fixed"
    tau: float = 1.3

    def __post_init__(self) -> None:
        _require(self.tau > 0, f"schedule.tau={self.tau} must be > 0")


@dataclass
class AnnealedSchedule(ScheduleConfig):
    """A fixed teacher temperature moved from tau_start to tau_end over training."""

    name: str = "annealed"
    tau_start: float = 1.5
    tau_end: float = 1.1
    curve: str = "linear"

    def __post_init__(self) -> None:
        _require(self.tau_start > 0 and self.tau_end > 0, "schedule tau_start/tau_end must be > 0")
        _choose(self.curve, ("linear", "cosine"), "schedule.curve")


SCHEDULE_SCHEMAS: dict[str, type[ScheduleConfig]] = {
    "none": NoSchedule,
    "entropy_guided": EntropyGuidedSchedule,
    "fixed": FixedSchedule,
    "annealed": AnnealedSchedule,
}


# ---------------------------------------------------------------------------------------------- model
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
        _choose(self.dtype, ("float32", "bfloat16"), "model.dtype")


# ----------------------------------------------------------------------------------------------- data
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
        _choose(self.overlong, ("error", "drop"), "data.overlong")
        _require(self.max_prompt_length > 0, f"data.max_prompt_length={self.max_prompt_length} must be > 0")
        _require(self.max_response_length > 0, f"data.max_response_length={self.max_response_length} must be > 0")


# -------------------------------------------------------------------------------------------- trainer
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
        _require(self.lr > 0, f"trainer.lr={self.lr} must be > 0")
        _choose(self.lr_scheduler, ("cosine", "constant"), "trainer.lr_scheduler")
        _require(self.global_batch_size >= 1, f"trainer.global_batch_size={self.global_batch_size} must be >= 1")
        _require(
            self.micro_batch_size_per_device >= 1,
            f"trainer.micro_batch_size_per_device={self.micro_batch_size_per_device} must be >= 1",
        )
        _require(self.epochs >= 1, f"trainer.epochs={self.epochs} must be >= 1")
        _require(self.max_steps is None or self.max_steps >= 1, f"trainer.max_steps={self.max_steps} must be >= 1")


# ------------------------------------------------------------------------------------------------ eval
@dataclass
class EvalConfig:
    """How checkpoints are evaluated (docs/evaluation.md)."""

    # benchmark names (see curiosft.evaluation.benchmarks: the real ones plus tiny_id / tiny_mc)
    benchmarks: list[str] = field(default_factory=list)
    # generation backend: "vllm" (GPU) or "hf" (transformers generate; CPU)
    backend: str = "vllm"
    temperature: float = 0.6
    top_p: float = 1.0
    # null: no top-k truncation (both backends; transformers would apply 50 otherwise)
    top_k: Optional[int] = None
    max_new_tokens: int = 8192
    # samples per prompt (avg@n, pass@k for k = 1, 2, 4, ... n); per-benchmark exceptions below
    n_samples: int = 8
    n_samples_per_benchmark: dict[str, int] = field(default_factory=lambda: {"mmlu_pro": 1})
    # generation seed (each sample's randomness) and the seed of the multiple-choice option shuffle
    seed: int = 0
    shuffle_choices: bool = True
    shuffle_seed: int = 1234
    # evaluate only the first N prompts of each benchmark (None: all)
    limit: Optional[int] = None
    # hf backend: prompts per generate() call and torch threads per job (several jobs run side by side);
    # vllm: top log-probs per token for the entropy estimate
    batch_size: int = 64
    threads: int = 1
    entropy_top_k: int = 20
    # vllm backend
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.85
    # scoring: math-verify worker processes and the hard per-item timeout (seconds)
    scoring_workers: int = 2
    scoring_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        _choose(self.backend, ("vllm", "hf"), "eval.backend")
        _require(self.temperature >= 0, f"eval.temperature={self.temperature} must be >= 0")
        _require(0 < self.top_p <= 1, f"eval.top_p={self.top_p} must be in (0, 1]")
        _require(self.top_k is None or self.top_k >= 1, f"eval.top_k={self.top_k} must be >= 1 (or null for off)")
        _require(self.max_new_tokens >= 1, f"eval.max_new_tokens={self.max_new_tokens} must be >= 1")
        for name, n in {"eval.n_samples": self.n_samples, **{
                f"eval.n_samples_per_benchmark.{b}": v for b, v in self.n_samples_per_benchmark.items()}}.items():
            _require(n >= 1, f"{name}={n} must be >= 1")
        _require(self.limit is None or self.limit >= 1, f"eval.limit={self.limit} must be >= 1 (or null for all)")
        _require(self.batch_size >= 1, f"eval.batch_size={self.batch_size} must be >= 1")
        _require(self.threads >= 1, f"eval.threads={self.threads} must be >= 1")
        _require(self.scoring_workers >= 1, f"eval.scoring_workers={self.scoring_workers} must be >= 1")
        _require(self.scoring_timeout_s > 0, f"eval.scoring_timeout_s={self.scoring_timeout_s} must be > 0")

    def samples_for(self, benchmark: str) -> int:
        return self.n_samples_per_benchmark.get(benchmark, self.n_samples)


# ------------------------------------------------------------------------------------------------- rl
@dataclass
class RewardServiceConfig:
    """Where the RL reward comes from: a server started for the job, or one already running at `url`."""

    url: Optional[str] = None
    # bearer token of the server at `url` (a started server gets a fresh random one)
    token: Optional[str] = None
    workers: int = 2
    timeout_s: float = 10.0
    # "rl": a </think> is required and only the text after it is graded; "eval": the whole response
    format: str = "rl"

    def __post_init__(self) -> None:
        _require(self.workers >= 1, f"rl.reward.workers={self.workers} must be >= 1")
        _require(self.timeout_s > 0, f"rl.reward.timeout_s={self.timeout_s} must be > 0")
        _choose(self.format, ("rl", "eval"), "rl.reward.format")
        _require(self.url is None or self.url.startswith(("http://", "https://")),
                 f"rl.reward.url={self.url!r} must be an http(s):// URL (or null to start a server per job)")


@dataclass
class GRPOConfig:
    """The RL stage after each SFT checkpoint (docs/methods.md); one config for both backends.

    `verl`: verl.trainer.main_ppo (FSDP actor, vLLM rollout; GPUs). `local`: HF generate rollouts and
    verl's own GRPO advantage and policy loss on this machine (CPU, tests, the tiny default).
    """

    name: str = "grpo"
    backend: str = "verl"
    # rollouts per prompt, sampled at this temperature / top_p
    n_rollouts: int = 8
    temperature: float = 1.0
    top_p: float = 1.0
    # null: no top-k truncation
    top_k: Optional[int] = None
    # prompts per step; prompts per optimizer step (x n_rollouts sequences); epochs over each batch
    batch_size: int = 128
    mini_batch_size: int = 32
    micro_batch_size_per_device: int = 4
    ppo_epochs: int = 1
    lr: float = 1e-6
    warmup_steps: int = 0
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    clip_ratio: float = 0.2
    # the release uses neither (0: off)
    kl_loss_coef: float = 0.0
    entropy_coeff: float = 0.0
    loss_agg_mode: str = "token-mean"
    # GRPO divides the group-centred reward by the group's std (False: Dr. GRPO)
    norm_adv_by_std: bool = True
    # None: data.max_response_length
    max_response_length: Optional[int] = None
    epochs: int = 1
    max_steps: Optional[int] = None
    save_freq: int = 50
    # local backend: torch threads and prompts per generate() call; verl backend: vLLM settings
    threads: int = 2
    rollout_batch_size: int = 64
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.6
    reward: RewardServiceConfig = field(default_factory=RewardServiceConfig)

    def __post_init__(self) -> None:
        _choose(self.backend, ("verl", "local"), "rl.backend")
        _require(self.n_rollouts >= 2, f"rl.n_rollouts={self.n_rollouts} must be >= 2 (GRPO compares a group)")
        _require(self.temperature > 0, f"rl.temperature={self.temperature} must be > 0")
        _require(0 < self.top_p <= 1, f"rl.top_p={self.top_p} must be in (0, 1]")
        _require(self.top_k is None or self.top_k >= 1, f"rl.top_k={self.top_k} must be >= 1 (or null for off)")
        _require(self.batch_size >= 1 and self.mini_batch_size >= 1, "rl.batch_size and rl.mini_batch_size must be >= 1")
        _require(self.batch_size % self.mini_batch_size == 0,
                 f"rl.batch_size={self.batch_size} is not a multiple of rl.mini_batch_size={self.mini_batch_size}")
        _require((self.mini_batch_size * self.n_rollouts) % self.micro_batch_size_per_device == 0,
                 f"rl.mini_batch_size x rl.n_rollouts = {self.mini_batch_size * self.n_rollouts} sequences do not split "
                 f"into micro-batches of rl.micro_batch_size_per_device={self.micro_batch_size_per_device}")
        _require(self.ppo_epochs >= 1, f"rl.ppo_epochs={self.ppo_epochs} must be >= 1")
        _require(self.lr > 0, f"rl.lr={self.lr} must be > 0")
        _require(self.clip_ratio > 0, f"rl.clip_ratio={self.clip_ratio} must be > 0")
        _require(self.kl_loss_coef >= 0 and self.entropy_coeff >= 0, "rl.kl_loss_coef and rl.entropy_coeff must be >= 0")
        _choose(self.loss_agg_mode, ("token-mean", "seq-mean-token-sum", "seq-mean-token-mean"), "rl.loss_agg_mode")
        _require(self.max_response_length is None or self.max_response_length >= 1,
                 f"rl.max_response_length={self.max_response_length} must be >= 1")
        _require(self.epochs >= 1, f"rl.epochs={self.epochs} must be >= 1")
        _require(self.max_steps is None or self.max_steps >= 1, f"rl.max_steps={self.max_steps} must be >= 1")
        _require(self.save_freq >= 1, f"rl.save_freq={self.save_freq} must be >= 1")
        _require(self.threads >= 1 and self.rollout_batch_size >= 1, "rl.threads and rl.rollout_batch_size must be >= 1")


# ------------------------------------------------------------------------------------------- launcher
@dataclass
class LauncherConfig:
    name: str = MISSING


@dataclass
class LocalLauncher(LauncherConfig):
    name: str = "local"
    # processes per job (torchrun --nproc-per-node); on CPU keep processes x threads <= cores
    nproc_per_node: int = 1
    threads_per_process: int = 2

    def __post_init__(self) -> None:
        _require(self.nproc_per_node >= 1, f"launcher.nproc_per_node={self.nproc_per_node} must be >= 1")
        _require(self.threads_per_process >= 1, f"launcher.threads_per_process={self.threads_per_process} must be >= 1")


@dataclass
class SlurmLauncher(LauncherConfig):
    name: str = "slurm"
    partition: Optional[str] = None
    account: Optional[str] = None
    qos: Optional[str] = None
    nodes: int = 1
    gpus_per_node: int = 8
    cpus_per_task: int = 64
    mem_gb: int = 512
    timeout_min: int = 24 * 60
    constraint: Optional[str] = None
    # extra sbatch flags, e.g. {"exclusive": ""}
    additional_parameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(self.nodes >= 1, f"launcher.nodes={self.nodes} must be >= 1")
        _require(self.gpus_per_node >= 0, f"launcher.gpus_per_node={self.gpus_per_node} must be >= 0")
        _require(self.cpus_per_task >= 1, f"launcher.cpus_per_task={self.cpus_per_task} must be >= 1")
        _require(self.mem_gb >= 1, f"launcher.mem_gb={self.mem_gb} must be >= 1")
        _require(self.timeout_min >= 1, f"launcher.timeout_min={self.timeout_min} must be >= 1")


# ------------------------------------------------------------------------------------------ tiny world
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
        _require(self.hidden_size % self.num_heads == 0, "world.model.hidden_size must be divisible by num_heads")
        _require(self.num_heads % self.num_kv_heads == 0, "world.model.num_heads must be divisible by num_kv_heads")


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
            _require(1 <= lo <= hi <= 12, f"world.{key}={[lo, hi]} must satisfy 1 <= lo <= hi <= 12")
        _require(2 <= self.n_choices <= 10, f"world.n_choices={self.n_choices} must be in [2, 10]")
        _require(0 <= self.pretrain_mc_fraction <= 1,
                 f"world.pretrain_mc_fraction={self.pretrain_mc_fraction} must be in [0, 1]")


# -------------------------------------------------------------------------------------------- top level
@dataclass
class PathsConfig:
    # every stage writes below this folder (relative to the working directory)
    results: str = "results"
    world: str = "${paths.results}/world"
    data: str = "${paths.results}/data"


@dataclass
class Config:
    method: Any = MISSING
    schedule: Any = MISSING
    model: Any = MISSING
    data: Any = MISSING
    launcher: Any = MISSING
    rl: GRPOConfig = field(default_factory=GRPOConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    world: WorldConfig = field(default_factory=WorldConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    # the experiment option that was composed (tiny, smoke, paper, ...)
    experiment: str = MISSING
    seed: int = 1
