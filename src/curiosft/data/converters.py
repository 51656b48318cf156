"""Converters from each source's real column layout to the normalised records (curiosft.data.records).

Each converter takes the source rows (a pandas DataFrame, as read from the hub or a local file) and
returns {output file name: records}. Bad rows raise with the data set, row index and column named.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from curiosft.data.records import choice_record, math_record, sft_record
from curiosft.data.registry import DatasetSpec
from curiosft.errors import InputDataError


def _require_columns(df: pd.DataFrame, spec: DatasetSpec, columns: list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputDataError(
            f"{spec.name}: source rows lack column(s) {missing} (found {list(df.columns)}); "
            f"is this the {spec.hub_id} file with layout {spec.layout!r}?"
        )


def _is_missing(value) -> bool:
    """A null cell: None, or the NaN pandas reads for a JSON null / empty parquet value."""
    return value is None or isinstance(value, float) and math.isnan(value)


def _answer_text(value) -> str:
    """Ground truths arrive as str, int, float (27.0) or lists (OlympiadBench); normalise to text.

    A null answer becomes "" (the record then refuses the row) rather than the text "nan" / "None".
    """
    if isinstance(value, np.generic):  # numpy scalars (np.int64, np.float32): their Python value
        value = value.item()
    if isinstance(value, (list, tuple, np.ndarray)):
        values = value.tolist() if isinstance(value, np.ndarray) else value
        return ", ".join(_answer_text(v) for v in values)
    if _is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _messages(value) -> list[dict]:
    return [dict(m) for m in (value.tolist() if hasattr(value, "tolist") else value)]


def _last_user_content(messages: list[dict], spec: DatasetSpec, index: int) -> str:
    users = [m["content"] for m in messages if m.get("role") == "user"]
    if not users:
        raise InputDataError(f"{spec.name} row {index}: prompt has no user message")
    return users[-1]


def convert_luffy(df: pd.DataFrame, spec: DatasetSpec) -> dict[str, list[dict]]:
    """LUFFY layout (OpenR1-Math-46k-8192, CurioSFT_Data): prompt=[system, user], target=[assistant], reward_model."""
    _require_columns(df, spec, ["prompt", "target", "reward_model"])
    sft, rl = [], []
    for i, row in enumerate(df.itertuples(index=False)):
        question = _last_user_content(_messages(row.prompt), spec, i)
        targets = _messages(row.target)
        if not targets:
            raise InputDataError(f"{spec.name} row {i}: empty target")
        truth = _answer_text(dict(row.reward_model)["ground_truth"])
        sft.append(sft_record(question, targets[0]["content"], data_source=spec.name, ground_truth=truth))
        rl.append(math_record(question, truth, data_source=spec.name, index=i, split="train"))
    return {"sft_train.parquet": sft, "rl_train.parquet": rl}


BOXED = "\\boxed{}"


def convert_question_solution(df: pd.DataFrame, spec: DatasetSpec) -> dict[str, list[dict]]:
    """A question, its worked solution and (optionally) its final answer per row: your own file, or LIMO.
    Column names from spec.columns (question, solution, answer; without an answer column the answer is the
    solution's last \\boxed{}). The SFT row is [system instruction, question, solution]; the RL row the
    question with the answer as ground truth. InputDataError naming the row for an empty cell or an answer
    that cannot be found."""
    from curiosft.scoring.boxed import last_boxed_answer

    columns = {"question": "question", "solution": "solution", "answer": "answer", **spec.columns}
    q, s, a = columns["question"], columns["solution"], columns["answer"] if columns["answer"] else None
    _require_columns(df, spec, [q, s, *([a] if a else [])])
    sft, rl = [], []
    for i, row in enumerate(df.to_dict("records")):
        for column in (q, s):
            if _is_missing(row[column]) or not str(row[column]).strip():
                raise InputDataError(f"{spec.name} row {i}: column {column!r} is empty; an SFT row needs a "
                                     "question and its solution (fill it in or drop the row)")
        question, solution = str(row[q]), str(row[s])
        truth = _answer_text(row[a]) if a else (last_boxed_answer(solution) or "")
        if not truth:
            missing = f"column {a!r} is empty" if a else "the solution has no " + BOXED
            raise InputDataError(f"{spec.name} row {i}: no answer ({missing}); the RL reward grades against it: "
                                 "give the answer column (--answer KEY) or fill it in")
        sft.append(sft_record(question, solution, data_source=spec.name, ground_truth=truth))
        rl.append(math_record(question, truth, data_source=spec.name, index=i, split="train"))
    return {"sft_train.parquet": sft, "rl_train.parquet": rl}


def convert_limo(df: pd.DataFrame, spec: DatasetSpec) -> dict[str, list[dict]]:
    """LIMO layout: question, solution, answer."""
    return convert_question_solution(df, spec)


def convert_math(df: pd.DataFrame, spec: DatasetSpec) -> dict[str, list[dict]]:
    """Question/answer benchmarks (AIME, AMC, MATH-500, Minerva): column names from spec.columns."""
    q, a = spec.columns["question"], spec.columns["answer"]
    _require_columns(df, spec, [q, a])
    rows = []
    for i, (question, answer) in enumerate(zip(df[q], df[a])):
        for column, value in ((q, question), (a, answer)):
            if _is_missing(value):
                raise InputDataError(f"{spec.name} row {i}: column {column!r} is null ({value!r}); "
                                 f"fill it in the source file or drop the row")
        truth = _answer_text(answer)
        rows.append(math_record(str(question), truth, data_source=spec.name, index=i, split="test"))
    return {f"{spec.name}.parquet": rows}


def convert_olympiadbench(df: pd.DataFrame, spec: DatasetSpec) -> dict[str, list[dict]]:
    """OlympiadBench: question, final_answer (a list of strings, often LaTeX wrapped in $)."""
    _require_columns(df, spec, ["question", "final_answer"])
    rows = []
    for i, (question, answers) in enumerate(zip(df["question"], df["final_answer"])):
        # the math delimiters go, an escaped dollar (`\$36`, a currency) stays
        truth = re.sub(r"(?<!\\)\$", "", _answer_text(answers)).strip()
        rows.append(math_record(str(question), truth, data_source=spec.name, index=i, split="test"))
    return {f"{spec.name}.parquet": rows}


def _shuffled(spec: DatasetSpec, index: int, correct: str, wrong: list[str]) -> tuple[list[str], int]:
    """GPQA lists the correct answer first: place it by a per-row seeded draw (reproducible)."""
    options = [correct, *wrong]
    order = list(range(len(options)))
    random.Random(f"{spec.name}:{index}").shuffle(order)
    return [options[k] for k in order], order.index(0)


def convert_gpqa(df: pd.DataFrame, spec: DatasetSpec) -> dict[str, list[dict]]:
    """GPQA: Question, Correct Answer, Incorrect Answer 1-3."""
    wrong_cols = ["Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3"]
    _require_columns(df, spec, ["Question", "Correct Answer", *wrong_cols])
    rows = []
    for i, row in enumerate(df.to_dict("records")):
        choices, answer = _shuffled(spec, i, str(row["Correct Answer"]), [str(row[c]) for c in wrong_cols])
        rows.append(choice_record(row["Question"], choices, answer, data_source=spec.name, index=i, split="test"))
    return {f"{spec.name}.parquet": rows}


def convert_arc(df: pd.DataFrame, spec: DatasetSpec) -> dict[str, list[dict]]:
    """ARC: question, choices {text: [...], label: [A..]/[1..]}, answerKey."""
    _require_columns(df, spec, ["question", "choices", "answerKey"])
    rows = []
    for i, row in enumerate(df.to_dict("records")):
        labels = [str(x) for x in row["choices"]["label"]]
        texts = [str(x) for x in row["choices"]["text"]]
        if str(row["answerKey"]) not in labels:
            raise InputDataError(f"{spec.name} row {i}: answerKey {row['answerKey']!r} not among labels {labels}")
        answer = labels.index(str(row["answerKey"]))
        rows.append(choice_record(row["question"], texts, answer, data_source=spec.name, index=i, split="test"))
    return {f"{spec.name}.parquet": rows}


def convert_mmlu_pro(df: pd.DataFrame, spec: DatasetSpec) -> dict[str, list[dict]]:
    """MMLU-Pro: question, options (up to 10), answer_index."""
    _require_columns(df, spec, ["question", "options", "answer_index"])
    rows = [
        choice_record(row["question"], list(row["options"]), int(row["answer_index"]),
                      data_source=spec.name, index=i, split="test")
        for i, row in enumerate(df.to_dict("records"))
    ]
    return {f"{spec.name}.parquet": rows}


CONVERTERS: dict[str, Callable[[pd.DataFrame, DatasetSpec], dict[str, list[dict]]]] = {
    "luffy": convert_luffy,
    "limo": convert_limo,
    "question_solution": convert_question_solution,
    "math": convert_math,
    "olympiadbench": convert_olympiadbench,
    "gpqa": convert_gpqa,
    "arc": convert_arc,
    "mmlu_pro": convert_mmlu_pro,
}
