"""Multiple-choice answer extraction: which option letter a response chose.

math-verify alone misses "(B)" (docs/evaluation.md), so multiple-choice benchmarks are graded by the
letter extracted here. Phrasings recognised, strongest evidence first (the last occurrence wins within
a rule, since models restate options while reasoning):

1. ``\\boxed{B}``, ``\\boxed{(B)}``, ``\\boxed{\\text{B}}``, ``\\boxed{B) 42}``
2. "the answer is B", "answer: (B)", "final choice: B.", "correct option is **B**"
3. a box, or an answer statement, holding an option's text instead of its letter (``\\boxed{3735}``)
4. a response that ends in a lone letter or "(B)"
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from curiosft.data.prompts import choice_letters
from curiosft.scoring.boxed import last_boxed_answer, normalize_answer

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


def extract_choice(response: str, choices: Sequence[str]) -> str | None:
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
