"""The last-\\boxed{} grader of the CurioSFT release: extract the last boxed answer, compare normalised text."""

from __future__ import annotations

import re

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BRACE = re.compile(r"[{}]")


def boxed_answers(text: str):
    """(content, start, end) of every \\boxed{...} / \\fbox{...} with balanced braces, in order (end: past the
    closing brace); an unclosed box is skipped."""
    if "\\boxed" not in text and "\\fbox" not in text:
        return
    closing = _matching_braces(text)
    for match in _BOXED.finditer(text):
        end = closing.get(match.end() - 1)
        if end is not None:
            yield text[match.end():end].strip(), match.start(), end + 1


def _matching_braces(text: str) -> dict[int, int]:
    """{index of "{": index of its "}"} in one pass (linear: a response full of unclosed boxes stays cheap)."""
    stack, pairs = [], {}
    for brace in _BRACE.finditer(text):
        if brace.group() == "{":
            stack.append(brace.start())
        elif stack:
            pairs[stack.pop()] = brace.start()
    return pairs


def last_boxed_answer(text: str) -> str | None:
    """Content of the last \\boxed{...} (balanced braces), or None."""
    starts = [m.end() for m in _BOXED.finditer(text)]
    if not starts:
        return None
    end = _matching_braces(text).get(starts[-1] - 1)
    return text[starts[-1]:end].strip() if end is not None else None


def normalize_answer(answer: str) -> str:
    """Light normalisation: whitespace, surrounding $, thousands separators, trailing period."""
    answer = answer.strip().strip("$").strip()
    answer = re.sub(r"\s+", "", answer)
    answer = re.sub(r"(?<=\d),(?=\d{3}\b)", "", answer)
    return answer.rstrip(".")


def boxed_match(response: str, ground_truth: str) -> bool:
    answer = last_boxed_answer(response)
    return answer is not None and normalize_answer(answer) == normalize_answer(ground_truth)
