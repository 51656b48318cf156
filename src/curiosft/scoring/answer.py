"""What a response states as its final answer: the last \\boxed{}, else its last answer statement.

The default grader (curiosft.scoring.math) compares only this text with the ground truth, never a number
found anywhere in the response: the release's whole-text fallback (math-verify's `parse` of the response)
rewards candidates the model tried and rejected ("Is the answer 12? No: ... fifteen" scores for gold 12;
tests/data/grading/issue13.jsonl). An answer statement is a declarative "the answer is X", "final answer: X"
or "answer = X"; a question ("Is the answer 12?"), a conditional ("if the answer is 12, ...") and a
negation ("the answer is not 12") state nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from curiosft.scoring.boxed import boxed_answers

# "the answer is", "final answer:", "answer = ", "the answer would be"; the statement runs to the end of its
# sentence: a newline, or a period that ends a sentence (not the point of 3.5)
_STATEMENT = re.compile(
    r"(?P<lead>\b(?:is|if|whether|suppose|assume|assuming)\s+)?(?:(?:the|our|my)\s+)?"
    r"(?:\bfinal\s+answer|\banswer)\b\**\s*(?:is\s*:?|:|=|would\s+be|should\s+be|must\s+be|is\s+therefore)\s*"
    r"(?P<answer>[^\n]*?)\s*(?P<end>\?|\.(?=\s|$)|\n|$)",
    re.IGNORECASE,
)
# GSM8K's "#### 42" marker line
_GSM8K_MARKER = re.compile(r"^####\s*(\S[^\n]*?)\s*$", re.MULTILINE)
# text allowed between boxes of one list answer: "\boxed{3}, \boxed{5}, and \boxed{7}"
_BOX_LIST_GAP = re.compile(r"^[\s$,;]*(?:(?:and|or)\b)?[\s$,;]*$|^\s*\\q?quad\s*$")
_NEGATION = re.compile(r"^(?:not|never|no|neither)\b", re.IGNORECASE)
_NUMBER_WORDS = {
    word: str(i) for i, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split())
}


@dataclass(frozen=True)
class FinalAnswer:
    text: str
    # "boxed": the last \boxed{} / \fbox{}; "statement": the last answer statement (no box in the response)
    source: str


def _clean(answer: str) -> str:
    answer = answer.strip().strip("*").strip()
    if len(answer) >= 2 and answer[0] == answer[-1] == "$":
        answer = answer[1:-1]
    elif answer.startswith("\\(") and answer.endswith("\\)") or answer.startswith("\\[") and answer.endswith("\\]"):
        answer = answer[2:-2]
    answer = answer.strip().rstrip(".").strip()
    return _NUMBER_WORDS.get(answer.lower(), answer)


def answer_statement(text: str) -> str | None:
    """The answer of the last declarative answer statement in `text`, or None."""
    found, found_at = None, -1
    for match in _GSM8K_MARKER.finditer(text):
        found, found_at = _clean(match.group(1)), match.start()
    for match in _STATEMENT.finditer(text):
        answer = match.group("answer")
        if match.group("lead") or match.group("end") == "?" or _NEGATION.match(answer):
            continue
        if (cleaned := _clean(answer)) and match.start() > found_at:
            found, found_at = cleaned, match.start()
    return found


def final_answer(text: str) -> FinalAnswer | None:
    """The response's final answer: its last \\boxed{} (or \\fbox{}), else its last answer statement, else None."""
    boxes = list(boxed_answers(text))
    if boxes:
        # boxes separated only by commas / "and" are one list answer: "\boxed{3}, \boxed{5}, and \boxed{7}"
        last = [boxes[-1]]
        for before in reversed(boxes[:-1]):
            if not _BOX_LIST_GAP.match(text[before[2]:last[0][1]]):
                break
            last.insert(0, before)
        return FinalAnswer(", ".join(content for content, _, _ in last), "boxed")
    statement = answer_statement(text)
    return FinalAnswer(statement, "statement") if statement is not None else None
