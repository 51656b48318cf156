"""Multiple-choice answer extraction (default grader): which option letter a response chose.

Every place a response can state a choice is a candidate with its position; the LAST one decides (models
restate and reject options while reasoning, so an early `\\boxed{B = \\mu_0 n I}` loses to a final
"**Answer: D**"). Candidates:

1. a box holding a letter alone or a letter with option text: ``\\boxed{C}``, ``\\boxed{(C)}``,
   ``\\boxed{\\text{C}}``, ``\\boxed{C) 3735}``; or holding an option's text: ``\\boxed{3735}``;
2. an answer statement: "the answer is B", "Answer: (B)", "correct option is **B**", "### Answer\\nC",
   or one stating an option's text ("the answer is 3735");
3. the response's last line as a letter with or without its option text: "(D)", "B) 15", "... therefore B".

A letter counts only where it stands as a letter: uppercase (lowercase only when marked, "(c)"), and not
the pronoun or article ("I think it is C" chose C, "A good start" chose nothing); "Option a is wrong"
states no choice. A statement naming two letters ("A or C") is a hedge: no choice.
Each rule is a case in tests/data/grading/ with the public report it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from curiosft.data.prompts import choice_letters
from curiosft.scoring.boxed import boxed_answers, normalize_answer

HEDGE = "hedge"

# the letter in a box: alone, in parentheses or \text{}, optionally followed by ")", ".", ":" and option text
_BOXED_LETTER = re.compile(
    r"^\s*(?:\\(?:text|textbf|mathrm|mathbf)\s*\{\s*)?\(?\s*([A-Za-z])\s*\)?\s*\}?\s*(?:([.:)])\s*(.*))?$", re.DOTALL)
_STATEMENT = re.compile(
    r"(?:\banswer|\bchoice|\boption)\b(?:\s+letter)?\**\s*"
    r"(?:is\s*:?|:|=|would\s+be|should\s+be|must\s+be|is\s+therefore|\n)\s*"
    r"(?=(?P<rest>[^\n]*))",
    re.IGNORECASE,
)
# letter tokens inside a statement: marked ones first ("(c)", "**C**", "\text{C}"), then a bare capital
_MARKED = r"\(\s*([A-Za-z])\s*\)|\*\*\s*([A-Za-z])\s*\*\*|\\(?:text|textbf|mathrm|boxed)\s*\{\s*\(?([A-Za-z])\)?\s*\}"
_TOKEN = re.compile(rf"{_MARKED}|(?<![A-Za-z0-9'’\\])([A-Z])(?![A-Za-z0-9'’])(?P<after>\s*[a-z]+)?")
_CONNECTIVES = {"because", "since", "as", "which", "is", "was", "with", "for", "and", "or"}
_HEDGE_JOIN = re.compile(r"\bor\b|\band\b|/|\beither\b", re.IGNORECASE)
_LAST_LINE = re.compile(r"^\W*?\(?\s*([A-Z])\s*\)?\s*(?:([.:)])\s*(.*?))?\W*$")
_TRAILING_LETTER = re.compile(r"(?:^|[\s(*])\(?([A-Z])\)?[\s.*]*$")
_NEGATED = re.compile(r"(?:\bnot|\bexcept|\bnor|\brules?\s+out|\bruled\s+out|\beliminates?)\s*(?:option\s+)?\(?$",
                      re.IGNORECASE)
_SENTENCE_END = re.compile(r"\.(?=\s|$)|;|!")


def _option_letter(text: str, choices: Sequence[str], letters: Sequence[str]) -> str | None:
    """The letter of the option whose text `text` states (after light normalisation), if exactly one."""
    wanted = normalize_answer(re.sub(r"\\text\{([^}]*)\}", r"\1", text)).strip("*").lower()
    if not wanted:
        return None
    hits = [letter for letter, choice in zip(letters, choices) if normalize_answer(choice).lower() == wanted]
    return hits[0] if len(hits) == 1 else None


def _letter_with_text(letter: str, text: str | None, choices, letters) -> str | None:
    """`letter` when it is an option and the text after it (if any) is not another option's text."""
    letter = letter.upper()
    if letter not in letters:
        return None
    if text and (other := _option_letter(text, choices, letters)) and other != letter:
        return None
    return letter


def _box_choice(content: str, choices, letters) -> str | None:
    if match := _BOXED_LETTER.match(content):
        letter, delimiter, text = match.groups()
        if letter.isupper() or delimiter is None or letter.upper() in letters:
            if found := _letter_with_text(letter, text, choices, letters):
                return found
    return _option_letter(content, choices, letters)


def _statement_choice(rest: str, choices, letters) -> str | None:
    """The letter an answer statement names (HEDGE for two letters), from the rest of its sentence."""
    end = _SENTENCE_END.search(rest)
    sentence = rest[:end.start()] if end else rest
    found: list[str] = []
    for match in _TOKEN.finditer(sentence):
        marked = next((g for g in match.groups()[:3] if g), None)
        letter = marked or match.group(4)
        after = (match.group("after") or "").strip()
        if not marked and after and after.lower() not in _CONNECTIVES:
            continue  # "I think", "A good": the pronoun or the article
        if _NEGATED.search(sentence[:match.start()]):
            continue  # "not B", "rules out C": a rejected option
        if letter.upper() in letters and letter.upper() not in found:
            found.append(letter.upper())
    if len(found) > 1 and _HEDGE_JOIN.search(sentence):
        return HEDGE
    if found:
        return found[0]
    return _option_letter(sentence.rstrip(".").strip(), choices, letters)


def choice_candidates(response: str, choices: Sequence[str]) -> list[tuple[int, str]]:
    """(position, letter or HEDGE) of every stated choice in `response`, in order."""
    letters = choice_letters(len(choices))
    candidates = []
    for content, position, _ in boxed_answers(response):
        if letter := _box_choice(content, choices, letters):
            candidates.append((position, letter))
    for match in _STATEMENT.finditer(response):
        if letter := _statement_choice(match.group("rest"), choices, letters):
            candidates.append((match.start(), letter))
    stripped = response.rstrip()
    last_line = stripped.rsplit("\n", 1)[-1]
    position = len(stripped) - len(last_line)
    if any(at >= position for at, _ in candidates):
        pass  # the last line states its choice in a box or a statement (a hedge there stays a hedge)
    elif match := _LAST_LINE.match(last_line.strip().strip("*").strip()):
        if letter := _letter_with_text(match.group(1), match.group(3), choices, letters):
            candidates.append((position, letter))
    elif match := _TRAILING_LETTER.search(stripped[-12:]):
        if match.group(1) in letters:
            candidates.append((len(stripped) - 1, match.group(1)))
    return sorted(candidates, key=lambda c: c[0])


def extract_choice(response: str, choices: Sequence[str]) -> str | None:
    """The option letter `response` chose among `choices` (A, B, ...), or None (no choice, or a hedge)."""
    candidates = choice_candidates(response, choices)
    if not candidates or candidates[-1][1] == HEDGE:
        return None
    return candidates[-1][1]
