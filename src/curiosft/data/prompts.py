"""Prompt construction shared by SFT data, RL prompts and evaluation (one template everywhere)."""

from __future__ import annotations

from collections.abc import Sequence

from curiosft.letters import LETTERS, choice_letters  # noqa: F401 - re-exported: prompts and records use them

# The Qwen2.5-Math / PSFT instruction, sent as the system message.
MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
CHOICE_INSTRUCTION = (
    "Please reason step by step, and put the letter of your final choice within \\boxed{} (for example \\boxed{A})."
)


def format_choices(question: str, choices: Sequence[str]) -> str:
    """The question followed by one '(A) option' line per choice."""
    lines = [question.strip(), ""]
    lines += [f"({letter}) {str(choice).strip()}" for letter, choice in zip(choice_letters(len(choices)), choices)]
    return "\n".join(lines)


def math_prompt(question: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": MATH_INSTRUCTION},
        {"role": "user", "content": question.strip()},
    ]


def choice_prompt(question: str, choices: Sequence[str]) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": CHOICE_INSTRUCTION},
        {"role": "user", "content": format_choices(question, choices)},
    ]
