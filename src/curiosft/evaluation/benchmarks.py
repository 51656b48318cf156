"""The evaluation benchmarks: answer kind, in- or out-of-distribution, and the name tables print."""

from __future__ import annotations

from dataclasses import dataclass

from curiosft.data.registry import BENCHMARKS as HUB_BENCHMARKS
from curiosft.errors import UnknownNameError


@dataclass(frozen=True)
class Benchmark:
    name: str
    # "math" (graded by value: math-verify + boxed) or "multiple_choice" (graded by the chosen letter)
    kind: str
    label: str

    @property
    def split(self) -> str:
        """"id": in-distribution math; "ood": out-of-distribution multiple choice (docs/evaluation.md)."""
        return "id" if self.kind == "math" else "ood"


_LABELS = {
    "aime24": "AIME24", "aime25": "AIME25", "amc23": "AMC23", "math500": "MATH-500",
    "minerva_math": "Minerva", "olympiadbench": "OlympiadBench", "gpqa_diamond": "GPQA-D",
    "arc_challenge": "ARC-C", "mmlu_pro": "MMLU-Pro",
}

BENCHMARKS: dict[str, Benchmark] = {
    **{name: Benchmark(name, spec.kind, _LABELS.get(name, name)) for name, spec in HUB_BENCHMARKS.items()},
    # the tiny world's test sets: same-form addition (in-distribution) and a multiple-choice rewording
    "tiny_id": Benchmark("tiny_id", "math", "Tiny-ID"),
    "tiny_mc": Benchmark("tiny_mc", "multiple_choice", "Tiny-MC"),
}


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise UnknownNameError(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]


def benchmark_order(names) -> list[str]:
    """In-distribution first, each group in registry order (the column order of the tables)."""
    known = list(BENCHMARKS)
    names = sorted(set(names), key=lambda n: (get_benchmark(n).split != "id", known.index(n)))
    return names
