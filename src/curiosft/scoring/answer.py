"""What a response states as its final answer: the last of its boxes and its answer statements.

The default grader (curiosft.scoring.math) compares only this text with the ground truth, never a number
found anywhere in the response: the release's whole-text fallback (math-verify's `parse` of the response)
rewards candidates the model tried and rejected ("Is the answer 12? No: ... fifteen" scores for gold 12;
tests/data/grading/issue13.jsonl).

Candidates, the LAST by position decides:
- a \\boxed{} (or \\fbox{}); boxes separated only by commas / "and" / "x =" are one list answer
  (`$x = \\boxed{3}$ and $x = \\boxed{-1}$` -> "3, -1");
- an answer statement (curiosft.scoring.statement: declarative only), whose answer is its first math
  segment, else its words up to the end of the sentence or a justification ("12, since ..." -> 12), with a
  unit word dropped ("18 dollars" -> 18) and a number word read ("fifteen" -> 15); a negated statement
  gives the value it goes on to ("the answer is not 12, it is 13" -> 13);
- GSM8K's "#### 42" line.

Only when none of these exists: the response's closing sentence, when it states a value ("So the total cost
is $29.00." -> $29.00; "... equals 12", "... = 12"), read like a statement's answer. Only the last sentence
is read, never a question ("... is 12?") or a condition ("If x is 3, ..."), and never a negation ("is not").
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from curiosft.scoring.boxed import boxed_answers
from curiosft.scoring.statement import CONTINUATION, MATH_KEYWORDS, MAX_REST_CHARS, statements_from_end

_GSM8K_MARKER = re.compile(r"^####[ \t]*(\S[^\n]*)$", re.MULTILINE)
# text allowed between boxes of one list answer: "\boxed{3}, \boxed{5}, and \boxed{7}", "$ and $x = "
_BOX_LIST_GAP = re.compile(r"^[\s$,;]*(?:(?:and|or)\b[\s$,;]*)?(?:[a-zA-Z]_?\{?\w?\}?\s*=\s*)?$|^\s*\\q?quad\s*$")
# a math segment; an escaped dollar (`$\$36$`) is the currency sign inside one, not a delimiter
_MATH_SEGMENT = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_SENTENCE_END = re.compile(r"\.(?=\s|$)|[?!;]|\s+(?:since|because|as|which|where|given|due\s+to|so\s+that)\b|,\s+(?:so|and\s+so|"
                           r"since|because|as|which|where|given|due\s+to|i\s+hope|hence|thus|therefore)\b",
                           re.IGNORECASE)
_SEGMENT_GAP = re.compile(r"^\s*,?\s*(?:and\s+)?$")
_LAST_AND = re.compile(r"\s*,?\s+and\s+(?=[-+\\\d(\[{$])")
# a number that counts or measures the words after it ("6 possible values of $x$"), not one an operation follows
_LEADING_COUNT = re.compile(r"^([-+]?\d[\d,]*(?:\.\d+)?)\s+(?!(?:times|plus|minus|over|divided|more|less|percent|"
                            r"to|and|or|of|by|in|is)\b)[A-Za-z][A-Za-z\-]*(?:\s+[A-Za-z\-]+)*\s+(?:of|for)\s+\$")
_NUMBER_WITH_UNIT = re.compile(r"^([-+]?\d[\d,]*(?:\.\d+)?)\s+[A-Za-z][A-Za-z\s]*$")
# the closing sentence: its first "is" / "are" / "equals" / "comes to" / "=" (not "is not")
_CLOSING_VERB = re.compile(r"(?:\b(?:is|are|equals|comes\s+to|was)|=)\s+(?!not\b|n't\b)(?=\S)", re.IGNORECASE)
# the closing sentence's verbs read from its end when its first verb's value is only words
MAX_CLOSING_VERBS = 16
_SENTENCE_BREAK = re.compile(r"(?<=[.!])\s+")
_CONDITION = re.compile(r"^\W*(?:if|when|whether|suppose|assume|assuming|unless|is|are|what|which|how)\b", re.IGNORECASE)
_NUMBER_WORDS = {
    word: str(i) for i, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split())
}


@dataclass(frozen=True)
class FinalAnswer:
    text: str
    # "boxed": a \boxed{} (list); "statement": an answer statement; "marker": GSM8K's "#### N";
    # "closing sentence": the value the last sentence states (no box, no statement)
    source: str


def statement_answer(rest: str, negated: bool = False) -> str | None:
    """The answer a statement states, from the text after its connector (see the module docstring)."""
    if negated:
        continuation = CONTINUATION.search(rest)
        if continuation is None:
            return None
        rest = rest[continuation.end():]
    text = rest.strip().strip("*\"'").strip()
    boxes = list(boxed_answers(text))
    if boxes:
        return boxes[0][0]
    segment = _MATH_SEGMENT.match(text)
    if segment:
        # "$x=1$ and $x=2$": math segments joined by commas / "and" are one list answer
        parts, end = [segment], segment.end()
        while (following := _MATH_SEGMENT.search(text, end)) and _SEGMENT_GAP.match(text[end:following.start()]):
            parts.append(following)
            end = following.end()
        return ", ".join(next(g for g in p.groups() if g is not None).strip() for p in parts)
    end = _SENTENCE_END.search(text)
    text = (text[:end.start()] if end else text).strip().rstrip(",").strip().strip("*").strip()
    if count := _LEADING_COUNT.match(text):
        return count.group(1)  # "6 possible integer values of $x$" is 6
    if segment := _MATH_SEGMENT.search(text):
        text = next(g for g in segment.groups() if g is not None).strip()
    if unit := _NUMBER_WITH_UNIT.match(text):
        text = unit.group(1)
    text = _LAST_AND.sub(", ", text)  # "2 and 3" (after "the answers are") is the list 2, 3
    text = text.rstrip(".").strip()
    return _NUMBER_WORDS.get(text.lower(), text) or None


def answer_statement(text: str) -> str | None:
    """The answer of the last declarative answer statement in `text`, or None."""
    found = _last_statement(text)
    return found[1] if found else None


def _last_statement(text: str):
    """(position, answer, source) of the last answer statement or GSM8K marker that states an answer."""
    markers = [(m.start(), m.group(1).strip(), "marker") for m in _GSM8K_MARKER.finditer(text)]
    last_marker = markers[-1] if markers else None
    # from the end: the first statement that states an answer is the last one (earlier ones are not read)
    for statement in statements_from_end(text, MATH_KEYWORDS):
        if last_marker and last_marker[0] > statement.start:
            return last_marker
        if (answer := statement_answer(statement.rest, statement.negated)) is not None:
            return statement.start, answer, "statement"
    return last_marker


def _box_candidates(text: str):
    boxes = list(boxed_answers(text))
    i = 0
    while i < len(boxes):
        group = [boxes[i]]
        while i + 1 < len(boxes) and _BOX_LIST_GAP.match(text[group[-1][2]:boxes[i + 1][1]]):
            i += 1
            group.append(boxes[i])
        if any(content for content, _, _ in group):
            yield group[0][1], ", ".join(content for content, _, _ in group), "boxed"
        i += 1


def _states_a_value(answer: str | None) -> bool:
    """Whether an answer has a number, a number word or math in it (not only words: "the value we need")."""
    return bool(answer) and bool(re.search(r"[\d\\^_{}=+*/]", answer) or
                                 any(word in _NUMBER_WORDS for word in re.findall(r"[a-z]+", answer.lower())))


def closing_sentence_answer(text: str) -> str | None:
    """The value the response's last sentence states ("So the total cost is $29.00." -> "$29.00"), or None (a
    question, a condition, a negation, or no "is" / "equals" / "=" in it).

    Its first verb's value; in a chain of equalities the last one ("$1^{(2^k)}$ = 2^{22} = 2^{23}" is 2^{23},
    not the first link); and when the first verb's value is only words ("The result is the value we're looking
    for, which is $x=4$"), the last verb whose value states one (issue 28: real SmolLM2 outputs)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    last = _SENTENCE_BREAK.split(lines[-1].strip())[-1].strip()
    if not last or last.endswith("?") or _CONDITION.match(last):
        return None
    # linear in the sentence: math segments found once, at most the last MAX_CLOSING_VERBS verbs read, each value
    # from a bounded slice (the parent process runs this without a timeout)
    spans = [(m.start(), m.end()) for m in _MATH_SEGMENT.finditer(last)]
    starts = [start for start, _ in spans]

    def outside_math(position: int) -> bool:
        i = bisect.bisect_right(starts, position) - 1
        return i < 0 or not spans[i][0] < position < spans[i][1]

    verbs = [v for v in _CLOSING_VERB.finditer(last) if outside_math(v.start())]
    if not verbs:
        return None
    first = verbs[0]
    if first.group().strip() == "=":
        first = [v for v in verbs if v.group().strip() == "="][-1]

    def value(verb) -> str | None:
        return statement_answer(last[verb.end():verb.end() + MAX_REST_CHARS])

    answer = value(first)
    if not _states_a_value(answer):
        later = (value(v) for v in reversed(verbs[-MAX_CLOSING_VERBS:]) if v.start() > first.start())
        answer = next((found for found in later if _states_a_value(found)), answer)
    return answer


def final_answer(text: str) -> FinalAnswer | None:
    """The response's final answer: the last of its box groups and answer statements; else the value its closing
    sentence states; else None."""
    boxes = list(_box_candidates(text))
    statement = _last_statement(text)
    candidates = sorted([*boxes[-1:], *([statement] if statement else [])], key=lambda c: c[0])
    if not candidates:
        closing = closing_sentence_answer(text)
        return FinalAnswer(closing, "closing sentence") if closing else None
    # a statement holding a box ("the answer is \boxed{3}") starts before the box: the box comes last anyway
    _, answer, source = candidates[-1]
    return FinalAnswer(answer, source)
