"""Every evaluation benchmark, one record each: the only table of benchmark facts.

A `Benchmark` says what the benchmark is (answer kind: graded by value or by the chosen letter), where it
sits in the tables (split: in- or out-of-distribution, stated, not derived from the kind; label), where
its file comes from (a hub `HubSource` read by a converter of curiosft.data.converters, or a file the tiny
world builds) and its default samples per prompt. Everything else is derived from these records: the data
registry (`curiosft datasets`, `curiosft prepare-data`), the workflow's benchmark files and wildcard, the
config check of benchmark names, the tables' column order and labels.

Adding a benchmark is one `register_benchmark(Benchmark(...))` (below for the shipped ones), plus a
converter when its column layout is new (docs/evaluation.md "Adding a benchmark"). This module imports
nothing of curiosft but its errors, so every layer may read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from curiosft.errors import UnknownNameError

KINDS = ("math", "multiple_choice")
SPLITS = ("id", "ood")


@dataclass(frozen=True)
class HubSource:
    """Where a benchmark's rows are on the Hugging Face hub, and how to read them."""

    hub_id: str
    # the converter (curiosft.data.converters.CONVERTERS) reading this column layout
    layout: str
    # the hub split read (not the benchmark's id/ood split)
    split: str = "test"
    config: str | None = None
    data_files: str | None = None
    # a hub commit; "main" where not pinned yet (`curiosft prepare-data` records the commit it read)
    revision: str = "main"
    # source column names, for the generic layouts (math: question, answer)
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Benchmark:
    """One benchmark. Exactly one of `source` (a hub data set) and `world_file` (a file the tiny world
    writes below paths.world/data) says where its parquet comes from."""

    name: str
    # "math" (graded by value: math-verify + boxed) or "multiple_choice" (graded by the chosen letter)
    kind: str
    # "id": in-distribution (the math the SFT data teaches), "ood": out-of-distribution (docs/evaluation.md)
    split: str
    # the column name the tables print
    label: str
    source: HubSource | None = None
    world_file: str | None = None
    # samples per prompt when the experiment does not say (eval.n_samples_per_benchmark); None: eval.n_samples
    samples: int | None = None
    # the tokens a response needs (the p90 of the reference solutions where measured; a model's reasoning
    # runs longer): eval.max_new_tokens below it draws a warning on a pretrained model (curiosft.preflight)
    response_tokens: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"benchmark {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.split not in SPLITS:
            raise ValueError(f"benchmark {self.name!r}: split {self.split!r} is not one of {', '.join(SPLITS)}")
        if (self.source is None) == (self.world_file is None):
            raise ValueError(f"benchmark {self.name!r} needs exactly one of source (hub) and world_file (tiny world)")
        if self.samples is not None and self.samples < 1:
            raise ValueError(f"benchmark {self.name!r}: samples={self.samples} must be >= 1")


_BENCHMARKS: dict[str, Benchmark] = {}


def register_benchmark(benchmark: Benchmark) -> Benchmark:
    """Add `benchmark` to the registry (ValueError if another record has its name)."""
    previous = _BENCHMARKS.get(benchmark.name)
    if previous is not None and previous != benchmark:
        raise ValueError(f"benchmark name {benchmark.name!r} is already registered")
    _BENCHMARKS[benchmark.name] = benchmark
    return benchmark


def unregister_benchmark(name: str) -> None:
    """Remove a benchmark (tests that register their own)."""
    _BENCHMARKS.pop(name, None)


def benchmark_names() -> list[str]:
    """Every registered benchmark, in registry order."""
    return list(_BENCHMARKS)


def benchmarks() -> dict[str, Benchmark]:
    """name -> record, in registry order (a copy)."""
    return dict(_BENCHMARKS)


def get_benchmark(name: str) -> Benchmark:
    if name not in _BENCHMARKS:
        raise UnknownNameError(f"unknown benchmark {name!r}; choose one of {', '.join(_BENCHMARKS)}")
    return _BENCHMARKS[name]


def benchmark_order(names) -> list[str]:
    """In-distribution first, each group in registry order (the column order of the tables)."""
    known = list(_BENCHMARKS)
    return sorted(set(names), key=lambda n: (get_benchmark(n).split != "id", known.index(n)))


def default_samples() -> dict[str, int]:
    """benchmark -> its default samples per prompt, for the benchmarks that have one."""
    return {b.name: b.samples for b in _BENCHMARKS.values() if b.samples is not None}


def _math(hub_id: str, question: str = "problem", **kwargs) -> HubSource:
    return HubSource(hub_id, "math", columns={"question": question, "answer": "answer"}, **kwargs)


for _benchmark in [
    # in-distribution: competition math (answers graded by value)
    Benchmark("aime24", "math", "id", "AIME24", _math("HuggingFaceH4/aime_2024", split="train")),
    Benchmark("aime25", "math", "id", "AIME25", _math("math-ai/aime25")),
    Benchmark("amc23", "math", "id", "AMC23", _math("math-ai/amc23", question="question")),
    # response_tokens: its 500 reference solutions, SmolLM2's tokenizer: median 173, p90 501
    Benchmark("math500", "math", "id", "MATH-500", _math("HuggingFaceH4/MATH-500"), response_tokens=501),
    Benchmark("minerva_math", "math", "id", "Minerva", _math("math-ai/minervamath", question="question")),
    Benchmark("olympiadbench", "math", "id", "OlympiadBench",
              HubSource("Hothan/OlympiadBench", "olympiadbench", split="train", config="OE_TO_maths_en_COMP")),
    # the tiny world's in-distribution test set: same-form addition
    Benchmark("tiny_id", "math", "id", "Tiny-ID", world_file="test_id.parquet"),
    # out-of-distribution: multiple choice (graded by the chosen letter)
    Benchmark("gpqa_diamond", "multiple_choice", "ood", "GPQA-D",
              HubSource("Idavidrein/gpqa", "gpqa", split="train", config="gpqa_diamond"),
              description="gated on the hub: accept its terms and log in first"),
    Benchmark("arc_challenge", "multiple_choice", "ood", "ARC-C",
              HubSource("allenai/ai2_arc", "arc", config="ARC-Challenge")),
    # 12k questions: one sample each by default (the CurioSFT protocol's avg@1 for MMLU-Pro)
    Benchmark("mmlu_pro", "multiple_choice", "ood", "MMLU-Pro", HubSource("TIGER-Lab/MMLU-Pro", "mmlu_pro"),
              samples=1),
    # the tiny world's out-of-distribution test set: a multiple-choice rewording
    Benchmark("tiny_mc", "multiple_choice", "ood", "Tiny-MC", world_file="test_mc.parquet"),
]:
    register_benchmark(_benchmark)
