"""The last-\\boxed{} grader of the CurioSFT release: extract the last boxed answer, compare normalised text."""

from __future__ import annotations

import re

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")


def boxed_answers(text: str):
    """(content, start, end) of every \\boxed{...} / \\fbox{...} with balanced braces, in order (end: past the
    closing brace); an unclosed box is skipped."""
    for match in _BOXED.finditer(text):
        depth, start = 1, match.end()
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                yield text[start:i].strip(), match.start(), i + 1
                break


def last_boxed_answer(text: str) -> str | None:
    """Content of the last \\boxed{...} (balanced braces), or None."""
    starts = [m.end() for m in _BOXED.finditer(text)]
    if not starts:
        return None
    start = starts[-1]
    depth = 1
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:i].strip()
    return None


def normalize_answer(answer: str) -> str:
    """Light normalisation: whitespace, surrounding $, thousands separators, trailing period."""
    answer = answer.strip().strip("$").strip()
    answer = re.sub(r"\s+", "", answer)
    answer = re.sub(r"(?<=\d),(?=\d{3}\b)", "", answer)
    return answer.rstrip(".")


def boxed_match(response: str, ground_truth: str) -> bool:
    answer = last_boxed_answer(response)
    return answer is not None and normalize_answer(answer) == normalize_answer(ground_truth)
