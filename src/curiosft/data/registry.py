"""The real data sets: where they live on the hub and which converter reads their column layout.

Revisions: `revision` pins a hub commit. Entries still on "main" were not pinned yet (the machines this
project is developed on cannot reach the hub); `curiosft prepare-data` records the commit it actually
read in the output's manifest.json, so every prepared file names its exact source. Pin with
`--revision <sha>` or by editing the entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
            "limo", "train", "GAIR/LIMO", "limo",
            description="LIMO: 817 long reasoning demonstrations (the PSFT README's LIMO runs)",
            closes_thinking=False,
        ),
    ]
}

BENCHMARKS: dict[str, DatasetSpec] = {
    s.name: s
    for s in [
        DatasetSpec("aime24", "math", "HuggingFaceH4/aime_2024", "math", split="train",
                    columns={"question": "problem", "answer": "answer"}),
        DatasetSpec("aime25", "math", "math-ai/aime25", "math", split="test",
                    columns={"question": "problem", "answer": "answer"}),
        DatasetSpec("amc23", "math", "math-ai/amc23", "math", split="test",
                    columns={"question": "question", "answer": "answer"}),
        DatasetSpec("math500", "math", "HuggingFaceH4/MATH-500", "math", split="test",
                    columns={"question": "problem", "answer": "answer"}),
        DatasetSpec("minerva_math", "math", "math-ai/minervamath", "math", split="test",
                    columns={"question": "question", "answer": "answer"}),
        DatasetSpec("olympiadbench", "math", "Hothan/OlympiadBench", "olympiadbench", split="train",
                    config="OE_TO_maths_en_COMP"),
        DatasetSpec("gpqa_diamond", "multiple_choice", "Idavidrein/gpqa", "gpqa", split="train",
                    config="gpqa_diamond", description="gated on the hub: accept its terms and log in first"),
        DatasetSpec("arc_challenge", "multiple_choice", "allenai/ai2_arc", "arc", split="test",
                    config="ARC-Challenge"),
        DatasetSpec("mmlu_pro", "multiple_choice", "TIGER-Lab/MMLU-Pro", "mmlu_pro", split="test"),
    ]
}

REGISTRY: dict[str, DatasetSpec] = {**TRAINING_SETS, **BENCHMARKS}


def get_spec(name: str) -> DatasetSpec:
    if name not in REGISTRY:
        raise UnknownNameError(f"unknown data set {name!r}; choose one of {', '.join(REGISTRY)}")
    return REGISTRY[name]
