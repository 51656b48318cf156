"""Multiple-choice answer extraction (default grader): which option letter a response chose.

Every place a response states a choice is a candidate with its position; the LAST one decides (models
restate and reject options while reasoning, so an early `\\boxed{B = \\mu_0 n I}` loses to a final
"**Answer: D**"). Candidates:

1. a box holding a letter alone or with its option text (``\\boxed{C}``, ``\\boxed{(C)}``,
   ``\\boxed{\\text{C}}``, ``\\boxed{C) 3735}``), an option's text (``\\boxed{3735}``, ``\\boxed{\\frac{1}{2}}``
   for "1/2"), or its value when exactly one option is that number (``\\boxed{32}`` for "32 degrees");
2. an answer statement (curiosft.scoring.statement: declarative only, so "if we ignored friction, the answer
   would be B" is none): "the answer is B", "Answer: (B)", "correct option is **B**", "### Answer\\nC",
   `{"answer": "B"}`, "答案：C", "The correct answer is d."; or one stating an option's text;
3. "Option C is correct", "**C** is the correct answer";
4. a last line that is a lone letter: "(D)", "**C**".
Only when there is none of these: the last line as a letter with its option text ("B) 15"), a last line
that is one option's text, a response ending in a letter ("... therefore B", "not A; it must be C") unless
that letter is rejected ("it is not C.") or joined to another ("A or C."), or a closing sentence naming one
option's text ("... is the gill, which ...").

A letter followed by another option's text names no option ("(C) Planetary gravity will become stronger."
when that is D; issue 28, from real SmolLM2 outputs).

Inside a statement, a letter counts where it stands as a letter: uppercase (lowercase when marked, "(c)",
or when it is the whole statement), not the pronoun ("I think it is C") nor the article ("A good start");
a letter after "not", "isn't", "rules out", "rather than" is rejected; the justification after "as",
"because", "since" is not read ("C, as A and B are too small" chose C). Two letters left ("A or C",
"D/H") are a hedge: no choice. Each rule is a case in tests/data/grading/ with the public report it
comes from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from fractions import Fraction

from curiosft.letters import choice_letters
from curiosft.scoring.answer import closing_sentence_answer
from curiosft.scoring.boxed import boxed_answers, normalize_answer
from curiosft.scoring.statement import CHOICE_KEYWORDS, statements_from_end

HEDGE = "hedge"

# the letter in a box: alone, in parentheses or \text{}, optionally followed by ")", ".", ":" and option text
_BOXED_LETTER = re.compile(
    r"^\s*(?:\\(?:text|textbf|mathrm|mathbf)\s*\{\s*)?\(?\s*([A-Za-z])\s*\)?\s*\}?\s*(?:([.:)])\s*(.*))?$", re.DOTALL)
# letter tokens inside a statement: marked ones ("(c)", "**C**", "\text{C}", "'C'"), then a bare capital
_MARKED = (r"\(\s*([A-Za-z])\s*\)|\*\*\s*([A-Za-z])\s*\*\*|\\(?:text|textbf|mathrm|boxed)\s*\{\s*\(?([A-Za-z])\)?\s*\}"
           r"|[\"'‘“]\s*([A-Za-z])\s*[\"'’”]")
_TOKEN = re.compile(rf"{_MARKED}|(?<![A-Za-z0-9\\])([A-Z])(?![A-Za-z0-9]|['’][a-z])(?P<after>\s+[a-z']+)?")
_PRONOUN_VERBS = re.compile(r"^(?:think|believe|would|will|am|guess|chose|choose|pick|go|feel|suppose|say|need|can|"
                            r"could|should|must|have|had|do|did|was|got|see|reckon|know|agree|prefer|get|'m|'d|'ll|'ve)$")
_FUNCTION_WORDS = {"because", "since", "as", "which", "is", "was", "with", "for", "and", "or", "due", "in", "on", "at",
                   "by", "from", "here", "there", "given", "rather", "instead", "over", "that", "so", "then", "to"}
_NEGATED = re.compile(r"(?:\bnot|n['’]t|\bexcept|\bnor|\brules?\s+out|\bruled\s+out|\beliminat\w*|\bexcluding|"
                      r"\brather\s+than|\binstead\s+of)\s*(?:options?\s+|choices?\s+)?[(\"'*]*$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"\.(?=\s|$)|[;!?\n]|,?\s+(?:as|because|since|due\s+to|given|for|while|whereas|which)\b",
                           re.IGNORECASE)
_WHOLE_LETTER = re.compile(r"^[\s\"'(*]*([A-Za-z])[\s\"')*.]*$")
# "Option C is correct", "**C** is the correct answer", "D (Wood is buoyant) is the most accurate answer"
_IS_CORRECT = re.compile(r"(?<![A-Za-z(\"'*])(?:(?:option|choice)\s+)?[(\"'*]*([A-Z])[)\"'*]*(?:\s*\([^()\n]{1,80}\))?"
                         r"\s+is\s+(?:the\s+)?(?:(?:correct|right|best)\b(?!\s+only)|most\s+(?:accurate|likely|"
                         r"appropriate|suitable|reasonable)\s+(?:answer|option|choice|explanation|statement)\b)",
                         re.IGNORECASE)
_LONE_LAST_LINE = re.compile(r"^[\s#*(]*([A-Z])[\s*).]*$")
_LAST_LINE = re.compile(r"^\W*?\(?\s*([A-Z])\s*\)?\s*(?:([.:)])\s*(.*?))?\W*$")
_LABELLED = re.compile(r"^[\s*]*\(?([A-Z])\)\s*(.+?)[\s*]*$")
# the letter before a trailing one, joined to it: "A or C", "A/C", "A, C", "A and C"
_HEDGED_BEFORE = re.compile(r"(?<![A-Za-z])\(?[A-Z]\)?\s*(?:,|/|\bor|\band)\s*\(?$")
_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_TRAILING_LETTER = re.compile(r"(?:^|[\s(*：:])\(?([A-Z])\)?[\s.*]*$")


def _option_key(text: str, case: bool = False) -> str:
    """An option text for comparison: LaTeX fractions as a/b, no \\text{}, $, spaces, final period or (unless
    `case`) case."""
    text = re.sub(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"\1/\2", text)
    text = re.sub(r"\\(?:text|mathrm|textbf)\s*\{([^{}]*)\}", r"\1", text)
    key = normalize_answer(text.replace("\\%", "%")).strip("*")
    return key if case else key.lower()


# a number with an optional unit after it: "32", "32 degrees", "$32^\\circ$", "1.5 m/s", "\\$ 12" (after _option_key)
_VALUE = re.compile(r"^\\?\$?([-+]?(?:\d+(?:\.\d*)?|\.\d+))([^\d]*)$")
_DEGREE_UNIT = re.compile(r"\^\{?\\circ\}?|°|degrees?\b")


def _value_and_unit(text: str) -> tuple[Fraction, str] | None:
    """(value, unit) of an option or answer that is one number with at most a unit after it (degrees in any
    spelling as "°"); None for anything else (two numbers, an expression, words before the number)."""
    key = _DEGREE_UNIT.sub("°", _option_key(text))
    if not (match := _VALUE.match(key)):
        return None
    try:
        return Fraction(match.group(1)), match.group(2).strip(".")
    except (ValueError, ZeroDivisionError):
        return None


def _option_letter(text: str, choices: Sequence[str], letters: Sequence[str]) -> str | None:
    """The letter of the option whose text `text` states, if exactly one: the option's text itself, else its
    value (`\\boxed{32}` for the option "32 degrees"; issue 28) when exactly one option is that number (in the
    answer's unit, when the answer gives one)."""
    wanted = _option_key(text)
    if not wanted:
        return None
    hits = [letter for letter, choice in zip(letters, choices) if _option_key(choice) == wanted]
    if len(hits) > 1:  # options that differ only in case ("rr", "Rr", "RR": genotypes) by their case
        hits = [letter for letter in hits if _option_key(choices[letters.index(letter)], case=True)
                == _option_key(text, case=True)]
    if not hits and (answer := _value_and_unit(text)) is not None:
        value, unit = answer
        options = [(letter, _value_and_unit(choice)) for letter, choice in zip(letters, choices)]
        hits = [letter for letter, option in options
                if option is not None and option[0] == value and (not unit or unit == option[1])]
    return hits[0] if len(hits) == 1 else None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _option_begun(text: str, choices, letters) -> str | None:
    """The letter of the option whose words `text` begins with, nearly (SequenceMatcher ratio >= 0.8 over the
    option's length: "to consider it unlikely that the continents were ever together" for "... once together"),
    when only that option does; None for text that begins no option ("because water vapor ...")."""
    words = _words(text)
    if not words:
        return None
    scores = [(SequenceMatcher(None, option, words[:len(option)]).ratio(), letter)
              for letter, option in ((letter, _words(choice)) for letter, choice in zip(letters, choices)) if option]
    begun = [letter for score, letter in scores if score >= 0.8]
    return begun[0] if len(begun) == 1 else None


def _conflicts(letter: str, text: str | None, choices, letters) -> bool:
    """Whether the text after a letter is another option's text: "(C) Planetary gravity will become stronger."
    when that is D. Real model outputs do this (issue 28: 8 of 200 SmolLM2 ARC responses); such a response
    names no one option."""
    if not text:
        return False
    other = _option_letter(text, choices, letters) or _option_begun(text, choices, letters)
    return other is not None and other != letter


def _letter_with_text(letter: str, text: str | None, choices, letters) -> str | None:
    """`letter` when it is an option and the text after it (if any) is not another option's text."""
    letter = letter.upper()
    if letter not in letters:
        return None
    if _conflicts(letter, text, choices, letters):
        return None
    return letter


def _box_choice(content: str, choices, letters) -> str | None:
    if match := _BOXED_LETTER.match(content):
        letter, delimiter, text = match.groups()
        if letter.isupper() or delimiter is None or letter.upper() in letters:
            if found := _letter_with_text(letter, text, choices, letters):
                return found
    return _option_letter(content, choices, letters)


# what may stand between two boxes of one answer: `\boxed{A}, \boxed{B}`, `\boxed{A}. \boxed{B}`, `\boxed{A} or \boxed{B}`
_JOINER = re.compile(r"^[\s$,;/&*.]*(?:(?:or|and|\\text\s*\{\s*(?:or|and)\s*\}|\\(?:quad|qquad|,|;))[\s$,;/&*.]*)*$",
                     re.IGNORECASE)
# what separates the items of a list of options: "A; B", "t1, t2 or t3", "A/B", "A. B"
_LIST_SEPARATOR = re.compile(r"(?:\s*(?:[;,/]|\.(?=\s)|\bor\b|\band\b)\s*)+", re.IGNORECASE)
_ITEM_OPEN, _ITEM_CLOSE = re.compile(r"[\s*\"'(]*"), re.compile(r"[\s*\"')]*")


def _boxes_choice(response: str, choices, letters) -> tuple[int, str] | None:
    """(position, letter) of the last box that states a choice; HEDGE when the boxes joined to it (nothing but
    commas, "or", "and" between them: `\boxed{A}\boxed{B}\boxed{C}\boxed{D}`) state other choices."""
    boxes = list(boxed_answers(response))
    for i in range(len(boxes) - 1, -1, -1):
        if letter := _box_choice(boxes[i][0], choices, letters):
            stated = {letter}
            j = i
            while j > 0 and _JOINER.match(response[boxes[j - 1][2]:boxes[j][1]]):
                j -= 1
                stated.add(_box_choice(boxes[j][0], choices, letters) or HEDGE)
            return boxes[i][1], letter if len(stated) == 1 else HEDGE
    return None


def _listed_choices(text: str, choices, letters) -> set[str]:
    """The options a list written after an answer cue names ("A; B; C", "solid, only; liquid, only", "t1, t2 or
    t3"): the first line read whole as option letters and option texts joined by separators (an option's own
    commas and periods stay inside it). An empty set when the line is not such a list (then it is prose).
    Iterative: a 2,000-character line of a thousand items once overflowed a recursive reading."""
    line = text.split("\n", 1)[0].strip().rstrip(".").strip()
    if not line:
        return set()
    items = [(letter, re.compile(rf"{letter}(?![A-Za-z0-9])", re.IGNORECASE)) for letter in letters]
    items += [(letter, re.compile(r"\s+".join(map(re.escape, choice.strip().rstrip(".").split())) + r"\.?",
                                  re.IGNORECASE)) for letter, choice in zip(letters, choices) if choice.strip()]
    # every item that can start at each reachable position: (its letter, where the next item starts; None at the
    # line's end), in the order of `items`
    steps: dict[int, list[tuple[str, int | None]]] = {}
    todo = [0]
    while todo:
        position = todo.pop()
        if position in steps:
            continue
        steps[position] = []
        start = _ITEM_OPEN.match(line, position).end()
        for letter, pattern in items:
            if found := pattern.match(line, start):
                end = _ITEM_CLOSE.match(line, found.end()).end()
                if end == len(line):
                    steps[position].append((letter, None))
                elif gap := _LIST_SEPARATOR.match(line, end):
                    steps[position].append((letter, gap.end()))
                    todo.append(gap.end())
    # the options naming line[position:] whole (None: no tiling), from the end: a next item starts further on
    named: dict[int, frozenset[str] | None] = {}
    for position in sorted(steps, reverse=True):
        named[position] = next((frozenset({letter}) if following is None else named[following] | {letter}
                                for letter, following in steps[position]
                                if following is None or named[following] is not None), None)
    return set(named[0] or ())


def _letters_in(sentence: str, letters: Sequence[str]) -> list[str]:
    """The option letters a statement's sentence names, rejected ones ("not B") left out, in order."""
    found: list[str] = []
    for match in _TOKEN.finditer(sentence):
        marked = next((g for g in match.groups()[:4] if g), None)
        letter = (marked or match.group(5)).upper()
        after = (match.group("after") or "").strip()
        if not marked and after:
            if letter == "I" and _PRONOUN_VERBS.match(after):
                continue  # "I think it is C"
            if letter == "A" and after not in _FUNCTION_WORDS:
                continue  # "A good start": the article
        if _NEGATED.search(sentence[max(0, match.start() - 40):match.start()]):
            continue
        if letter in letters and letter not in found:
            found.append(letter)
    return found


def _statement_choice(rest: str, negated: bool, choices, letters) -> str | None:
    """The letter an answer statement names (HEDGE for two), from the rest of its sentence."""
    if not negated and (labelled := _LABELLED.match(rest)):
        letter, text = labelled.groups()
        if letter in letters and _option_letter(text, choices, letters) == letter:
            return letter  # "Answer: B) 21°C": the option with its own text (the C of °C is no letter)
    end = _SENTENCE_END.search(rest)
    sentence = rest[:end.start()] if end else rest
    if whole := _WHOLE_LETTER.match(sentence):
        found = [whole.group(1).upper()] if whole.group(1).upper() in letters else []
    else:
        found = _letters_in(sentence, letters)
    if negated:
        found = found[1:]  # "the answer isn't B, it's D"
    if len(found) > 1:
        return HEDGE
    chosen = found[0] if found else None if negated else _option_letter(sentence.rstrip(".").strip(), choices, letters)
    if chosen and not negated and len(_listed_choices(rest, choices, letters) | {chosen}) > 1:
        return HEDGE  # "The answer is: A; B; C" or every option's text in a row
    if found and (after := re.search(rf"(?<![A-Za-z]){chosen}(?![A-Za-z])[)\]*\s:.\-]*(?P<text>[^\n]*)", rest)) \
            and _conflicts(chosen, after.group("text"), choices, letters):
        return HEDGE  # "The correct answer is (C) homologous structures." when D is "homologous structures"
    return chosen


def choice_candidates(response: str, choices: Sequence[str]) -> list[tuple[int, str]]:
    """(position, letter or HEDGE) of the last stated choice of each kind in `response`, in order."""
    letters = choice_letters(len(choices))
    # of each kind only the last one that states a choice can decide: read from the end, stop at it
    candidates = []
    if boxed := _boxes_choice(response, choices, letters):
        candidates.append(boxed)
    for statement in statements_from_end(response, CHOICE_KEYWORDS):
        if letter := _statement_choice(statement.rest, statement.negated, choices, letters):
            candidates.append((statement.start, letter))
            break
    for match in reversed(list(_IS_CORRECT.finditer(response))):
        if match.group(1).upper() in letters:
            candidates.append((match.start(), match.group(1).upper()))
            break
    stripped = response.rstrip()
    last_line = stripped.rsplit("\n", 1)[-1][-500:]  # a lone-letter line is short
    position = len(stripped) - len(last_line)
    if (lone := _LONE_LAST_LINE.match(last_line)) and lone.group(1) in letters:
        candidates.append((position, lone.group(1)))
    elif not candidates:
        if match := _LAST_LINE.match(last_line.strip().strip("*").strip()):
            if letter := _letter_with_text(match.group(1), match.group(3), choices, letters):
                candidates.append((position, letter))
        elif (match := _TRAILING_LETTER.search(stripped, max(0, len(stripped) - 12))) and match.group(1) in letters:
            before = stripped[:match.start(1)]
            if _HEDGED_BEFORE.search(before):
                candidates.append((len(stripped) - 1, HEDGE))  # "It must be A or C."
            elif not _NEGATED.search(before[-40:]):  # "It is not C."
                candidates.append((len(stripped) - 1, match.group(1)))
        elif (letter := _option_letter(last_line, choices, letters)) and last_line.strip().strip("*").strip():
            candidates.append((position, letter))  # a last line that is one option's text
        elif (value := closing_sentence_answer(stripped)) and \
                (letter := _option_letter(_ARTICLE.sub("", value), choices, letters)):
            candidates.append((position, letter))  # "So, the organ ... is the gill, which ...": one option's text
    return sorted(candidates, key=lambda c: c[0])


def extract_choice(response: str, choices: Sequence[str]) -> str | None:
    """The option letter `response` chose among `choices` (A, B, ...), or None (no choice, or a hedge)."""
    candidates = choice_candidates(response, choices)
    if not candidates or candidates[-1][1] == HEDGE:
        return None
    return candidates[-1][1]
