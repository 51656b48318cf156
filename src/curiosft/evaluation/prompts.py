"""Evaluation prompts from a benchmark's RL-format parquet, with multiple-choice options reshuffled.

Shuffling: each question's options are permuted by a generator seeded with (shuffle_seed, benchmark,
question index), so a run is reproducible and every checkpoint sees the same order; the order is
recorded per sample (`choice_order`: original option index at each new position).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pandas as pd

from curiosft.data.prompts import choice_letters, choice_prompt
from curiosft.errors import InputDataError


@dataclass(frozen=True)
class EvalPrompt:
    prompt_id: int
    messages: list[dict]
    ground_truth: str
    kind: str
    choices: list[str] = field(default_factory=list)
    choice_order: list[int] = field(default_factory=list)
    data_source: str = ""


def _shuffled(question: str, choices: list[str], answer: str, rng: random.Random):
    letters = choice_letters(len(choices))
    order = list(range(len(choices)))
    rng.shuffle(order)
    new_choices = [choices[i] for i in order]
    new_answer = letters[order.index(letters.index(answer))]
    return choice_prompt(question, new_choices), new_choices, new_answer, order


def with_system_prompt(messages: list[dict], system_prompt: str | None) -> list[dict]:
    """The chat with `eval.system_prompt` applied: None keeps it, "" drops every system message, any other
    text becomes the one system message, first."""
    if system_prompt is None:
        return messages
    turns = [m for m in messages if m["role"] != "system"]
    return turns if system_prompt == "" else [{"role": "system", "content": system_prompt}, *turns]


def load_eval_prompts(path: str, benchmark: str, kind: str, *, shuffle: bool, shuffle_seed: int,
                      limit: int | None = None, system_prompt: str | None = None) -> list[EvalPrompt]:
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputDataError(f"cannot read benchmark file {path}: {exc}; rebuild it with the workflow "
                         f"(snakemake {path})") from None
    if limit is not None:
        frame = frame.head(limit)
    prompts = []
    for row in frame.itertuples(index=False):
        info = row.extra_info
        index = int(info["index"])
        answer = str(row.reward_model["ground_truth"])
        messages = [dict(m) for m in row.prompt]
        choices = [str(c) for c in info.get("choices", [])]
        order = list(range(len(choices)))
        if kind == "multiple_choice":
            if len(choices) < 2:
                raise InputDataError(f"{path}: row {index} of multiple-choice benchmark {benchmark} has no choices")
            if shuffle:
                rng = random.Random(f"{shuffle_seed}:{benchmark}:{index}")
                messages, choices, answer, order = _shuffled(str(info["question"]), choices, answer, rng)
        prompts.append(EvalPrompt(index, with_system_prompt(messages, system_prompt), answer, kind, choices, order,
                                  str(row.data_source)))
    if not prompts:
        raise InputDataError(f"benchmark file {path} has no rows")
    return prompts


def check_prompt_lengths(prompts: list[EvalPrompt], tokenizer, limit: int, benchmark: str) -> None:
    """ConfigError before generation when a prompt, chat-formatted (curiosft.evaluation.generation.encode_prompt),
    is longer than `limit` tokens (data.max_prompt_length): vLLM rejects such a prompt outright, and
    transformers would run it past the context the run was sized for. Names the count, the longest and
    the fix."""
    from curiosft.errors import ConfigError
    from curiosft.evaluation.generation import encode_prompt

    lengths = [len(encode_prompt(tokenizer, p.messages)) for p in prompts]
    over = [n for n in lengths if n > limit]
    if over:
        raise ConfigError(f"{len(over)} of {len(prompts)} {benchmark} prompts are longer than "
                          f"data.max_prompt_length={limit} tokens (the longest: {max(over)}); raise "
                          f"data.max_prompt_length to at least {max(over)}, or evaluate a benchmark that fits")
