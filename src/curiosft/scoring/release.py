"""The release's grading protocol (`scoring.grader: release`), kept as it was to reproduce the papers' numbers.

Math: the max of math-verify on the whole response and the last-\\boxed{} grader (METHODS.md, "Reward").
Multiple choice: the letter extractor curiosft shipped before the corrected grader (curiosft.scoring.choice).
Known faults, measured in benchmarks/grading.py and listed per case in tests/data/grading/: an absolute
numeric tolerance (1/2^99 equals 1/2^98), a whole-text fallback that rewards a candidate the model rejected,
rule priority over position in multiple choice ("\\boxed{B = ...}" beats a later "Answer: D").
Do not fix them here: fixes go to the default grader (curiosft.scoring.math, curiosft.scoring.choice).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from curiosft.letters import choice_letters
from curiosft.scoring.boxed import boxed_match, last_boxed_answer, normalize_answer

# math-verify's own (signal-based) timeouts, kept below the pool's hard timeout
_PARSE_TIMEOUT_S = 5


def _wrap_gold(ground_truth: str) -> str:
    gold = ground_truth.strip()
    return gold if "\\boxed" in gold else f"\\boxed{{{gold}}}"


def math_verify_match(response: str, ground_truth: str) -> bool:
    """math-verify's verdict: the response's answer equals the ground truth (math-equivalence)."""
    from math_verify import parse, verify

    gold = parse(_wrap_gold(ground_truth), parsing_timeout=_PARSE_TIMEOUT_S)
    answer = parse(response, parsing_timeout=_PARSE_TIMEOUT_S)
    if not gold or not answer:
        return False
    return bool(verify(gold, answer, timeout_seconds=_PARSE_TIMEOUT_S))


def boxed_match_in_parent(response: str, ground_truth: str) -> tuple[float, str | None, str] | None:
    """The release takes max(boxed grader, math-verify): a boxed match needs no worker."""
    return (1.0, last_boxed_answer(response), "boxed match") if boxed_match(response, ground_truth) else None


def grade_math_release(response: str, ground_truth: str) -> tuple[float, str | None, str]:
    """(score, extracted answer, reason). Score 1.0 when either grader accepts the answer."""
    extracted = last_boxed_answer(response)
    if boxed_match(response, ground_truth):
        return 1.0, extracted, "boxed match"
    try:
        if math_verify_match(response, ground_truth):
            return 1.0, extracted, "math-verify match"
    except Exception as exc:  # math-verify raising on odd input is a wrong answer, not a crash
        return 0.0, extracted, f"math-verify error: {type(exc).__name__}"
    return 0.0, extracted, "no boxed answer" if extracted is None else "wrong answer"


_LETTER_IN_BOX = re.compile(
    r"^\s*(?:\\text(?:bf)?\{)?\s*\(?\s*([A-Z])\s*\)?\s*\}?\s*(?:[.:)]|$|\s)", re.IGNORECASE
)
_ANSWER_IS = re.compile(
    r"(?:answer|choice|option)(?:\s+is|\s*:|\s+would\s+be|\s+should\s+be)?\s*(?:\*\*)?\s*[:=]?\s*"
    r"(?:option\s+|choice\s+)?\(?\s*\**\s*([A-Z])\s*\**\s*\)?(?![A-Za-z])",
    re.IGNORECASE,
)
_ANSWER_TEXT = re.compile(r"(?:answer|choice|option)\s*(?:is|:)\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_TRAILING_LETTER = re.compile(r"(?:^|[\s(*])\(?([A-Z])\)?[\s.*]*$")


def _letter(candidate: str, letters: Sequence[str]) -> str | None:
    candidate = candidate.upper()
    return candidate if candidate in letters else None


def _option_text(text: str, choices: Sequence[str], letters: Sequence[str]) -> str | None:
    """The letter of the option whose text `text` states (after light normalisation), if exactly one."""
    wanted = normalize_answer(re.sub(r"\\text\{([^}]*)\}", r"\1", text)).lower()
    hits = [letter for letter, choice in zip(letters, choices) if normalize_answer(choice).lower() == wanted]
    return hits[0] if len(hits) == 1 else None


def extract_choice_release(response: str, choices: Sequence[str]) -> str | None:
    """The option letter `response` chose among `choices` (A, B, ...), or None when it states none."""
    letters = choice_letters(len(choices))
    boxed = last_boxed_answer(response)
    if boxed is not None:
        match = _LETTER_IN_BOX.match(boxed)
        if match and (letter := _letter(match.group(1), letters)):
            # "\boxed{A}" but not "\boxed{Apples}": the letter must stand alone
            return letter
        if letter := _option_text(boxed, choices, letters):
            return letter
    for match in reversed(list(_ANSWER_IS.finditer(response))):
        if letter := _letter(match.group(1), letters):
            return letter
    for match in reversed(list(_ANSWER_TEXT.finditer(response))):
        if letter := _option_text(match.group(1).rstrip(".").strip("*"), choices, letters):
            return letter
    tail = response.strip()[-12:]
    if match := _TRAILING_LETTER.search(tail):
        return _letter(match.group(1), letters)
    return None
