"""The real data sets: where they live on the hub and which converter reads their column layout. The
training sets are listed here; the benchmarks' entries are derived from their records (curiosft.benchmarks).

Revisions: `revision` pins a hub commit. Entries still on "main" were not pinned yet (the machines this
project is developed on cannot reach the hub); `curiosft prepare-data` records the commit it actually
read in the output's manifest.json, so every prepared file names its exact source. Pin with
`--revision <sha>` or by editing the entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from curiosft.benchmarks import benchmarks
from curiosft.errors import UnknownNameError


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    # "train" (-> sft_train.parquet + rl_train.parquet) or "math" / "multiple_choice" benchmarks
    kind: str
    hub_id: str
    # converter in curiosft.data.converters.CONVERTERS
    layout: str
    split: str = "train"
    config: str | None = None
    data_files: str | None = None
    revision: str = "main"
    # source column names for the generic layouts
    columns: dict[str, str] = field(default_factory=dict)
    description: str = ""
    # the rows kept, [start, end) in the source's order (None: all): a split of a file used elsewhere too
    rows: tuple[int, int] | None = None
    # training sets: whether the demonstrations close a </think> block (what rl.reward.format=rl requires;
    # curiosft.preflight.check_reward_format); None where unknown
    closes_thinking: bool | None = None


TRAINING_SETS: dict[str, DatasetSpec] = {
    s.name: s
    for s in [
        DatasetSpec(
            "openr1_math_46k", "train", "Elliott/Openr1-Math-46k-8192", "luffy",
            description="OpenR1-Math, 46k rows with R1 traces up to 8192 tokens (LUFFY; PSFT's training set)",
            closes_thinking=True,
        ),
        DatasetSpec(
            "curiosft_data", "train", "Hao0oWang/CurioSFT_Data", "luffy", data_files="train.parquet",
            description="the CurioSFT release's training data (LUFFY layout)", closes_thinking=True,
        ),
        DatasetSpec(
            "math500_solutions", "train", "HuggingFaceH4/MATH-500", "question_solution", split="test",
            columns={"question": "problem", "solution": "solution", "answer": "answer"}, rows=(100, 500),
            description="MATH-500's worked solutions, rows 100-499, as short real demonstrations (experiment="
                        "smollm2, which evaluates MATH-500's first 100 rows at most: never trained on)",
            closes_thinking=False,
        ),
        DatasetSpec(
            "limo", "train", "GAIR/LIMO", "limo",
            description="LIMO: 817 long reasoning demonstrations (the PSFT README's LIMO runs)",
            closes_thinking=False,
        ),
    ]
}


def _hub_spec(benchmark) -> DatasetSpec:
    source = benchmark.source
    return DatasetSpec(benchmark.name, benchmark.kind, source.hub_id, source.layout, split=source.split,
                       config=source.config, data_files=source.data_files, revision=source.revision,
                       columns=dict(source.columns), description=benchmark.description)


def hub_benchmarks() -> dict[str, DatasetSpec]:
    """The benchmarks read from the hub, from their records (curiosft.benchmarks; the tiny world builds its own)."""
    return {b.name: _hub_spec(b) for b in benchmarks().values() if b.source is not None}


def registry() -> dict[str, DatasetSpec]:
    """Every data set `curiosft prepare-data` reads: the training sets, then the hub benchmarks."""
    return {**TRAINING_SETS, **hub_benchmarks()}


def get_spec(name: str) -> DatasetSpec:
    specs = registry()
    if name not in specs:
        raise UnknownNameError(f"unknown data set {name!r}; choose one of {', '.join(specs)}")
    return specs[name]


def check_local_data(local_data) -> None:
    """The workflow config's `local_data` names every one a registered data set (ConfigError naming them)."""
    from curiosft.errors import ConfigError

    specs = registry()
    unknown = [name for name in local_data if name not in specs]
    if unknown:
        raise ConfigError(f"local_data names unknown data set(s) {', '.join(map(repr, unknown))}; "
                          f"choose from {', '.join(specs)} (`curiosft datasets` lists them)")
