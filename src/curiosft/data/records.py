"""The normalised record schema: what every stage reads, whatever the source data set.

- SFT rows (verl `messages` parquet): {"messages": [system, user, assistant], "data_source", "ground_truth"}
- RL / evaluation rows (verl RL parquet): {"data_source", "prompt": [system, user], "ability",
  "reward_model": {"style": "rule", "ground_truth"}, "extra_info": {"index", "split", "question", "choices"}}
  Multiple choice: ability "multiple_choice", ground_truth the correct letter, choices the option texts
  (evaluation may reshuffle them with a recorded seed and rebuild the prompt from question + choices).
"""

from __future__ import annotations

from collections.abc import Sequence

from curiosft.data.prompts import choice_letters, choice_prompt, math_prompt
from curiosft.errors import InputDataError

SFT_COLUMNS = ("messages", "data_source", "ground_truth")
RL_COLUMNS = ("data_source", "prompt", "ability", "reward_model", "extra_info")


def sft_record(question: str, solution: str, *, data_source: str, ground_truth: str = "") -> dict:
    if not question.strip() or not solution.strip():
        raise InputDataError(f"{data_source}: an SFT row needs a non-empty question and solution")
    return {
        "messages": [*math_prompt(question), {"role": "assistant", "content": solution}],
        "data_source": data_source,
        "ground_truth": str(ground_truth),
    }


def math_record(question: str, ground_truth: str, *, data_source: str, index: int, split: str) -> dict:
    if not question.strip():
        raise InputDataError(f"{data_source} row {index}: empty question")
    if str(ground_truth).strip() == "":
        raise InputDataError(f"{data_source} row {index}: empty ground truth")
    return {
        "data_source": data_source,
        "prompt": math_prompt(question),
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": str(ground_truth).strip()},
        "extra_info": {"index": int(index), "split": split, "question": question.strip(), "choices": []},
    }


def choice_record(
    question: str, choices: Sequence[str], answer_index: int, *, data_source: str, index: int, split: str
) -> dict:
    choices = [str(c).strip() for c in choices]
    letters = choice_letters(len(choices))
    if not 0 <= answer_index < len(choices):
        raise InputDataError(f"{data_source} row {index}: answer index {answer_index} outside {len(choices)} choices")
    return {
        "data_source": data_source,
        "prompt": choice_prompt(question, choices),
        "ability": "multiple_choice",
        "reward_model": {"style": "rule", "ground_truth": letters[answer_index]},
        "extra_info": {"index": int(index), "split": split, "question": question.strip(), "choices": choices},
    }
