"""Answer statements: where a response declares its answer in words, shared by math and multiple choice.

`statements_from_end(text, keywords)` yields every DECLARATIVE statement "<cue> <connector> <rest>", the
last one first (a reader wants the last that states an answer, and stops there):
"the answer is 12", "Final answer: 12", "answer = 12", "The answer to this question is (B)",
"**Answer:**" / "### Final Answer" with the answer on the next line, `{"answer": "B"}`, "答案：C".
Not statements (tests/data/grading holds a case for each, with its public report):

- questions: "Is the answer 12?" (the sentence ends in "?");
- conditionals: "if the answer is 12, ...", "if we ignored friction, the answer would be B" (a modal
  connector after an if-clause);
- checks: "To verify the answer: 14/2 = 7", "the answer is indeed correct" (a verdict on an answer, not one);
- rejections: "The incorrect answer is (A)", "the other answers are ...".

A negated statement ("the answer isn't 12; it's 13", "the answer is not B") is kept with `negated` set:
the reader skips the first value and takes the one it goes on to state.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

# an answer statement is read up to this many characters after its connector (longer is no answer, and the
# bound keeps every extraction linear in the response's length: the parent process runs it without a timeout)
MAX_REST_CHARS = 2000
# and only the last this many statements are read (the last one that states an answer decides)
MAX_STATEMENTS = 64

MATH_KEYWORDS = r"final\s+answers?|correct\s+answers?|answers?"
CHOICE_KEYWORDS = (r"final\s+answers?|correct\s+answers?|best\s+answer|answers?|correct\s+(?:option|choice)|choice|option|"
                   r"答案")

_CONNECTOR = (r"isn['’]t|is\s+not|is\s+therefore|is\s+clearly|is\s+indeed|is\s*[:：]?|are\s*:?|[:：=是为]|would\s+be|should\s+be|"
              r"must\s+be|will\s+be|could\s+be|might\s+be")
_MODAL = re.compile(r"^(?:would|could|might)\b", re.IGNORECASE)
_NEGATIVE = re.compile(r"^(?:isn['’]t|is\s+not)$|^not\b", re.IGNORECASE)
_CONDITIONAL_LEAD = re.compile(r"\b(?:if|suppose|supposing|assume|assuming|whether|unless|were)\b", re.IGNORECASE)
_IMMEDIATE_LEAD = re.compile(
    r"\b(?:if|whether|suppose|assume|assuming|verify|verifying|check|checking|confirm|test|testing|recheck|"
    r"double-check)\s+(?:that\s+)?(?:the\s+|our\s+|my\s+|this\s+)?(?:final\s+)?$", re.IGNORECASE)
# a verdict on the answer, not an answer: "the answer is indeed correct", "the answer is as follows"
_VERDICT = re.compile(
    r"^(?:indeed\b|correct\b|incorrect\b|wrong\b|right\b|verified\b|confirmed\b|consistent\b|reasonable\b|"
    r"plausible\b|valid\b|invalid\b|as\s+follows|below\b|above\b|given\s+by|the\s+same\b|unchanged\b|"
    r"clear\b|obvious\b|not\s+(?:correct|right|valid|obvious|clear)\b|yes\s+or\s+no)", re.IGNORECASE)
# a cue for an answer the response rejects: "The incorrect answer is (A)", "a wrong answer would be 12"
_REJECTED_CUE = re.compile(r"\b(?:incorrect|wrong|false|rejected|eliminated|other)\s+$", re.IGNORECASE)
# the continuation a negated statement goes on to: "..., it is 13", "; it's D", ", but rather 13"
CONTINUATION = re.compile(r"(?:[,;]|\.(?=\s)|\bbut\b)\s*(?:but\s+)?(?:rather\s*,?\s*)?(?:it|that)\s*(?:['’]s|\s+is)\s+",
                          re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    start: int       # position of the cue in the text
    rest: str        # what follows the connector up to the end of its line (or the next line, for a header)
    negated: bool    # "isn't", "is not", "is not": the first value in `rest` is rejected


def _pattern(keywords: str) -> re.Pattern:
    return re.compile(
        rf"(?:\b|(?<=[\"'*]))(?P<cue>{keywords})(?:\s+to\s+(?:this|the)\s+(?:question|problem))?"
        rf"[\"'*\s]*?(?P<connector>{_CONNECTOR})(?=(?P<rest>[^\n]{{0,{MAX_REST_CHARS}}}))"
        rf"|^[#* \t]*(?P<header>(?:final\s+)?answer)[ \t*:：]*$",
        re.IGNORECASE | re.MULTILINE)


_PATTERNS: dict[str, re.Pattern] = {}
# a rest that quotes an option with its label: its "?" is the option's ("Answer: B) Which seeds grew tallest?")
_LABELLED_OPTION = re.compile(r"^[\s*]*\(?[A-Z]\)\s*\S")
_BOUNDARY = re.compile(r"[.!?](?=\s)|\n")


def _next_lines(text: str, end: int) -> str:
    """The first non-empty line after `end`; a display block (\\[ ... \\], $$ ... $$) whole."""
    after = text[end:end + 4 * MAX_REST_CHARS].lstrip("\n")
    while after.startswith("\n") or (after and not after.split("\n", 1)[0].strip()):
        after = after.split("\n", 1)[1] if "\n" in after else ""
    first = after.split("\n", 1)[0].strip()
    for opening, closing in (("\\[", "\\]"), ("$$", "$$")):
        if first == opening and closing in after[len(opening):]:
            return opening + after[len(opening):].split(closing, 1)[0] + closing
    return first


def statements_from_end(text: str, keywords: str = MATH_KEYWORDS) -> Iterator[Statement]:
    """The declarative answer statements of `text`, the last first (the module docstring says what is left out).
    Lazy: the filters run only on the statements a reader asks for."""
    pattern = _PATTERNS.setdefault(keywords, _pattern(keywords))
    boundaries = [m.end() for m in _BOUNDARY.finditer(text)]
    for match in reversed(list(pattern.finditer(text))[-MAX_STATEMENTS:]):
        if match.group("header"):
            yield Statement(match.start(), _next_lines(text, match.end()), False)
            continue
        connector = re.sub(r"\s+", " ", match.group("connector").strip()).lower()
        rest = match.group("rest")
        if not rest.strip(" *\"'}") and connector not in ("would be", "should be", "must be"):
            rest = _next_lines(text, match.end() + len(rest))
        # the sentence before the cue (its last 200 characters: a lead is a few words)
        before = bisect.bisect_right(boundaries, match.start())
        lead_start = max(boundaries[before - 1] if before else 0, match.start() - 200)
        lead = text[lead_start:match.start()]
        sentence_end = re.search(r"[?]|\.(?=\s|$)|!", rest)
        if sentence_end and sentence_end.group() == "?" and not _LABELLED_OPTION.match(rest):
            continue  # a question
        if _IMMEDIATE_LEAD.search(lead) or (_MODAL.match(connector) and _CONDITIONAL_LEAD.search(lead)):
            continue  # a conditional or a check
        if _REJECTED_CUE.search(lead):
            continue  # "The incorrect answer is (A)": the answer it names is rejected (issue 28)
        body = rest.strip(" *\"'")
        if _VERDICT.match(body):
            continue
        negated = bool(_NEGATIVE.match(connector) or _NEGATIVE.match(body))
        yield Statement(match.start(), rest, negated)
