"""The default math grader (`scoring.grader: curiosft`): the response's final answer against the ground truth.

1. Final answer: the last \\boxed{}, else the last answer statement (curiosft.scoring.answer); nothing else
   in the response is ever graded.
2. Both sides normalised as text (thin spaces and `{,}` as thousands separators, `\\dfrac`, `\\left`,
   `\\%`, `\\textbf`): equal text is a match without sympy.
3. AMC-style letter gold (`\\text{(B)}`): the answer must name that letter (`\\textbf{(B)}\\ 12`).
4. Otherwise both are parsed by math-verify (`parse` of the boxed text alone) and compared, each side only
   as a whole: a parse that dropped part of its text (`\\frac{1}{3} E_1 + \\frac{2}{3} E_2` parses as 2/3) is
   not compared at all, the two texts are (`not parsed whole`):
   - numbers: exactly when both are exact (integers, rationals, powers and factorials as exact rationals;
     surds and pi to 60 digits: 1/2^99 is not 1/2^98), else within a relative tolerance of REL_TOL (a
     decimal on either side), in arbitrary-precision arithmetic (10^400 is not 204); a value beyond
     10^MAX_DIGITS is not compared (`unverifiable`, score 0), an infinity equals only itself;
     containers of numbers element by element;
   - an inequality (or several joined by "or"/"and") against an interval, on either side, as solution sets;
   - anything else by math-verify's `verify`.

Each kind is a case in tests/data/grading/ with the public report it comes from; benchmarks/grading.py
measures this grader against plain math-verify and verl's default math reward. `grade_math` runs in the
pool's worker processes under the hard timeout (curiosft.scoring.pool).
"""

from __future__ import annotations

import re

from curiosft.errors import CuriosftError
from curiosft.scoring.answer import final_answer

# a decimal answer matches within this relative error (math-verify rounds to 6 decimals: an absolute tolerance)
REL_TOL = 1e-6
# exact values: high-precision evaluation of the difference (digits) and its relative bound
_EXACT_DIGITS = 60
_EXACT_REL = 1e-45
# math-verify's own (signal-based) timeouts, kept below the pool's hard timeout
_PARSE_TIMEOUT_S = 5
# a number whose magnitude exceeds 10^MAX_DIGITS (or is below 10^-MAX_DIGITS) is not compared: "unverifiable"
# (score 0). Golds go up to ~10^870 (400! in OlympiadBench-style answers); exact arithmetic stays cheap here.
MAX_DIGITS = 10_000

# LaTeX spacing inside a number is a thousands separator (10\,000, 10{,}000), and so is MATH's comma pulled
# close by a negative thin space (10,\!080; 11,\! 111,\! 111,\! 100: MATH-500's golds); a plain comma or space
# only when the whole answer is one grouped number (1,000 but not the pair (2,100))
_LATEX_THOUSANDS = re.compile(r"(?<=\d)(?:\\,|\\!|\\;|\\:|\\ |~|\{,\}|,\s*\\!\s*)(?=\d{3}(?!\d))")
_GROUPED_NUMBER = re.compile(r"^[-+]?\d{1,3}(?:([, ])\d{3})(?:\1\d{3})*(?:\.\d+)?$")
_LETTER_GOLD = re.compile(r"^(?:\\text(?:bf)?\s*\{\s*)?\(\s*([A-E])\s*\)\s*\}?")
_LETTER_ANSWER = re.compile(r"^(?:\\(?:text(?:bf)?|mathrm|mathbf)\s*\{\s*)?\(?\s*([A-E])\s*\)?\s*(?:\}|\\ |\s|$)")
# an AMC answer's letter before its value: "\textbf{(B) } 12", "(B) 12"
_LETTER_PREFIX = re.compile(r"^(?:\\(?:text(?:bf)?|mathrm|mathbf)\s*\{\s*\(\s*[A-E]\s*\)\s*\}|\(\s*[A-E]\s*\))"
                            r"(?:\s|\\ |~|\\quad)*(?=\S)")
_OTHER_LETTER = re.compile(r"(?<![A-Za-z\\])[A-E](?![A-Za-z])")
# e-notation anywhere in the answer ("8.7e8 \\text{ cm}"), not inside a name or after a backslash command
_E_NOTATION = re.compile(r"(?<![\w.\\])(\d+(?:\.\d+)?)[eE]([+-]?\d+)(?![\w.])")
# unicode math symbols models write (44°, −3, 2×3, √2, π, ∞) as the LaTeX the parser reads
_UNICODE = str.maketrans({"°": "^{\\circ}", "−": "-", "–": "-", "×": "\\times ", "÷": "\\div ", "·": "\\cdot ",
                          "π": "\\pi ", "∞": "\\infty ", "≤": "\\le ", "≥": "\\ge ", "≠": "\\ne ",
                          "\u2009": " ", "\u202f": " ", "\u00a0": " "})
_UNICODE_ROOT = re.compile(r"√\s*(?:\(([^()]*)\)|\{([^{}]*)\}|(\d+(?:\.\d+)?|[A-Za-z]))")
_ELLIPSIS = re.compile(r"\\[lc]?dots\b|\\dotsc\b|\.\.\.|…")
_OVERLINE = re.compile(r"^([+-]?)(\d*)\.(\d*)\\overline\{(\d+)\}$")
_REPEATING = re.compile(r"^([+-]?)(\d*)\.(\d+)\\ldots$")
_PERCENT = re.compile(r"\\?%")
_PLAIN_DECIMAL = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$")
# names in an answer's text, for the whole-parse check (_whole): text groups and environments are not names
_TEXT_GROUP = re.compile(r"\\(?:text\w*|math(?:rm|sf|tt|it)|mbox|operatorname|begin|end)\s*\{[^{}]*\}")
_GREEK = re.compile(r"\\(alpha|beta|gamma|delta|epsilon|varepsilon|zeta|eta|theta|vartheta|iota|kappa|lambda|mu|nu|"
                    r"xi|rho|sigma|tau|upsilon|phi|varphi|chi|psi|omega|Gamma|Delta|Theta|Lambda|Xi|Sigma|Upsilon|"
                    r"Phi|Psi|Omega|hbar|ell)(?![A-Za-z])")
_COMMAND = re.compile(r"\\[A-Za-z]+")
_LONE_LETTER = re.compile(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z])")
# "x =", "x \in", "\theta =", "a_n =" at the start: the name an answer assigns to is not part of its value
_ASSIGNED = re.compile(r"^\s*(?:[A-Za-z]|\\[A-Za-z]+)(?:_\{?\w+\}?)?\s*(?:=|\\in(?![A-Za-z]))")
# a subscript belongs to its base's name (`\\omega_{n}`, `\\theta_w`)
_SUBSCRIPT = re.compile(r"_(?:\{[^{}]*\}|\\?[A-Za-z0-9])")
# Euler's number and the imaginary unit are values, not names
_CONSTANT_LETTERS = frozenset("ei")
_PLAIN_FRACTION = re.compile(r"^([-+]?)(\d+)/(\d+)$|^([-+]?)\\frac\{(\d+)\}\{(\d+)\}$")


def _repeating_decimal(text: str) -> str:
    r"""0.\overline{3} and 0.333\ldots (a digit block repeated at least twice) as an exact fraction."""
    from fractions import Fraction

    if match := _OVERLINE.match(text):
        sign, whole, fixed, period = match.groups()
    elif (match := _REPEATING.match(text)) and len(match.group(3)) <= 40:
        sign, whole, digits = match.groups()
        for size in range(1, len(digits) // 2 + 1):
            for prefix in range(len(digits) - 2 * size + 1):
                block, tail = digits[prefix:prefix + size], digits[prefix:]
                if len(tail) >= 2 * size and tail == (block * len(tail))[:len(tail)]:
                    fixed, period = digits[:prefix], block
                    break
            else:
                continue
            break
        else:
            return text
    else:
        return text
    value = Fraction(int(whole or 0)) + Fraction(int(fixed or 0), 10 ** len(fixed)) + Fraction(
        int(period), (10 ** len(period) - 1) * 10 ** len(fixed))
    value = -value if sign == "-" else value
    return f"\\frac{{{value.numerator}}}{{{value.denominator}}}"


def normalize_math(answer: str) -> str:
    """Answer text for comparison: single spaces, no spacing commands or thousands separators, `\\left`/
    `\\right`, `\\dfrac`, one spelling of the ellipsis, e-notation and repeating decimals as values; `$` off."""
    text = answer.strip().strip("$").strip()
    text = _UNICODE_ROOT.sub(lambda m: f"\\sqrt{{{next(g for g in m.groups() if g is not None).strip()}}}", text)
    text = text.translate(_UNICODE).strip()
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    text = re.sub(r"\\(?:left|right)(?![a-zA-Z])", "", text)
    while (joined := _LATEX_THOUSANDS.sub("", text)) != text:
        text = joined
    if _GROUPED_NUMBER.match(text.strip()):
        text = re.sub(r"[, ]", "", text)
    text = re.sub(r"(?<!\\)\\[,!;: ]|~", " ", text)
    text = _ELLIPSIS.sub(r"\\ldots ", text)
    text = re.sub(r"\s+", " ", text).strip().rstrip(".").strip()
    text = _E_NOTATION.sub(lambda m: f"{m.group(1)}\\times 10^{{{int(m.group(2))}}}", text)
    return _repeating_decimal(text.replace(" ", "")) if "\\overline" in text or text.endswith("\\ldots") else text


def _canonical(answer: str) -> str:
    """normalize_math without spaces: the form two answers are compared as text in."""
    return normalize_math(answer).replace(" ", "")


def texts_equal(answer: str, ground_truth: str) -> bool:
    """The two answers are the same text after normalize_math (spaces ignored)."""
    return _canonical(answer) == _canonical(ground_truth)


def _source_note(final) -> str:
    """The reason's note on where the final answer came from: nothing for a box."""
    return {"boxed": "", "closing sentence": " (closing sentence)"}.get(final.source, " (answer statement)")


def decide_without_sympy(response: str, ground_truth: str) -> tuple[float, str | None, str] | None:
    """The grade when no parsing is needed (the pool decides these in the parent, without a worker): no final
    answer, the same text, or two plain numbers (integers, decimals, a/b); None otherwise."""
    final = final_answer(response)
    if final is None:
        return 0.0, None, "no final answer"
    suffix = _source_note(final)
    answer_key, gold_key = _canonical(final.text), _canonical(ground_truth)
    if answer_key == gold_key:
        return 1.0, final.text, "boxed match" if final.source == "boxed" else f"exact match{suffix}"
    answer, gold = _plain_number(answer_key), _plain_number(gold_key)
    if answer is None or gold is None:
        return None
    (a, a_decimal), (g, g_decimal) = answer, gold
    if a_decimal == g_decimal:
        same = a == g
    else:
        same = abs(a - g) <= REL_TOL * max(abs(a), abs(g))
    return float(same), final.text, ("equal value" if same else "different value") + suffix


def _plain_number(text: str):
    """(Fraction, written as a decimal) for "12", "-3.5", "7/2", "\\frac{7}{2}" (in _canonical form); None for
    anything else."""
    from fractions import Fraction

    if match := _PLAIN_FRACTION.match(text):
        sign, numerator, denominator = match.groups()[:3] if match.group(2) else match.groups()[3:]
        if int(denominator) == 0:
            return None
        value = Fraction(int(numerator), int(denominator))
        return (-value if sign == "-" else value), False
    if _PLAIN_DECIMAL.match(text):
        return Fraction(text), "." in text
    return None


def _letter_gold(ground_truth: str) -> str | None:
    match = _LETTER_GOLD.match(ground_truth.strip().strip("$").strip())
    return match.group(1) if match else None


def _letter_answer(answer: str) -> str | None:
    """The AMC letter an answer names ("\\textbf{(B)}\\ 12"); None for none or two ("A \\text{ or } C")."""
    text = answer.strip().strip("$").strip()
    match = _LETTER_ANSWER.match(text)
    if not match or _OTHER_LETTER.search(text[match.end():]):
        return None
    return match.group(1).upper()


def _parse(text: str):
    """math-verify's parse of `text` as a boxed answer: [sympy object, string] or []."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    return parse(f"\\boxed{{{text}}}", [LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()],
                 parsing_timeout=_PARSE_TIMEOUT_S)


def _names(text: str) -> set[str]:
    """The variable names an answer's text writes (lower case): lone letters (a subscript's base: `E_1` -> e) and
    Greek letters; not units or words in \\text{}, not commands, not e and i, not an assigned name ("x = 3")."""
    text = _SUBSCRIPT.sub(" ", _ASSIGNED.sub("", _TEXT_GROUP.sub(" ", text), count=1))
    names = {m.group(1).lower() for m in _GREEK.finditer(text)}
    text = _COMMAND.sub(" ", text)
    return names | {m.group().lower() for m in _LONE_LETTER.finditer(text) if m.group() not in _CONSTANT_LETTERS}


def _parsed_names(expr) -> set[str]:
    """The names in a parsed answer (symbols and undefined functions), lower case, a subscript's base only."""
    import sympy
    from sympy.core.function import AppliedUndef

    found = {str(s) for s in getattr(expr, "free_symbols", ())}
    if isinstance(expr, sympy.Basic):
        # atoms, not free_symbols: the t of Derivative(x, t) is written in the text too
        found |= {str(s) for s in expr.atoms(sympy.Symbol)} | {type(f).__name__ for f in expr.atoms(AppliedUndef)}
        if expr.has(sympy.Derivative):
            found.add("d")  # the d of dx/dt
    return {m.group().lower() for name in found if (m := re.search(r"[A-Za-z]+", name))}


def _whole(parsed: list, text: str):
    """The parsed answer when math-verify parsed `text` whole, else None: not parsed (only its text back), or a
    parse that lost a name the text writes (`\\frac{1}{3} E_1 + \\frac{2}{3} E_2` parses as 2/3: comparing that
    fragment once accepted a flipped sign)."""
    if not parsed or isinstance(parsed[0], str):
        return None
    return parsed[0] if _names(text) <= _parsed_names(parsed[0]) else None


def _is_number(expr) -> bool:
    import sympy

    return isinstance(expr, sympy.Expr) and bool(expr.is_number) and not expr.has(sympy.zoo, sympy.nan)


class Unverifiable(CuriosftError, ValueError):
    """A value the grader cannot compare within its bounds (beyond 10^MAX_DIGITS): the item scores 0 and its
    reason says so (`unverifiable: ...`); raised and caught inside the grader, never reaches a caller."""


def _log10_magnitude(expr) -> float:
    """log10 |expr| of a number, from a 15-digit arbitrary-precision evaluation (no float overflow: 10^400 is 400.0,
    not inf); -inf for zero. Raises Unverifiable when the value does not evaluate to a number."""
    import sympy

    size = sympy.N(abs(sympy.N(expr, 15)), 15)
    if not isinstance(size, sympy.Float | sympy.Integer | sympy.Rational) or not size.is_finite:
        raise Unverifiable(f"{expr} does not evaluate to a finite number")
    if size == 0:
        return float("-inf")
    return float(sympy.N(sympy.log(size, 10), 15))


def _bounded(expr) -> None:
    """Raise Unverifiable for a number beyond 10^MAX_DIGITS in magnitude (or a nonzero one below 10^-MAX_DIGITS)."""
    digits = _log10_magnitude(expr)
    if abs(digits) > MAX_DIGITS and digits != float("-inf"):
        raise Unverifiable(f"a value of magnitude 10^{digits:.0f} (bound 10^{MAX_DIGITS})")


def _bounded_numbers(expr) -> None:
    """_bounded on each number of a number, set or tuple of numbers; nothing for anything else."""
    for value in _numbers(expr) or []:
        _bounded(value)


def _exact_value(expr):
    """An exact sympy number (integers, rationals, powers, factorials) evaluated to a Rational; the expression
    itself when its value is irrational (surds, pi) or not exact. Only called on bounded values."""
    import sympy

    try:
        value = expr.doit()
    except (ValueError, TypeError, ArithmeticError):
        return expr
    return value if isinstance(value, sympy.Rational) else expr


def numbers_equal(a, b) -> bool:
    """Exact values compare exactly, two decimals as the decimals they are (2450318.75 is not 2450318.57);
    a decimal against an exact value within REL_TOL (relative): 0.333333 is 1/3, 0.33 is not.

    Infinities equal only themselves. Everything is computed in sympy's arbitrary-precision arithmetic, never
    through a Python float: 10^400 is not 204, 3^1009 is not 2^1009 (both once compared equal through an
    overflow to inf). Raises Unverifiable for a value beyond 10^MAX_DIGITS.
    """
    import sympy

    if a.has(sympy.oo, -sympy.oo) or b.has(sympy.oo, -sympy.oo):
        return a == b
    _bounded(a)
    _bounded(b)
    a_floats, b_floats = a.atoms(sympy.Float), b.atoms(sympy.Float)
    if a_floats and b_floats:
        a = a.xreplace({f: sympy.Rational(str(f)) for f in a_floats})
        b = b.xreplace({f: sympy.Rational(str(f)) for f in b_floats})
    exact = not (a.atoms(sympy.Float) or b.atoms(sympy.Float))
    if exact:
        a, b = _exact_value(a), _exact_value(b)
        if isinstance(a, sympy.Rational) and isinstance(b, sympy.Rational):
            return a == b
    digits = _EXACT_DIGITS if exact else 30
    # sympy Floats (mpmath underneath): any exponent, so no overflow to inf and no inf <= inf
    difference = abs(sympy.N(a - b, digits))
    scale = max(abs(sympy.N(a, digits)), abs(sympy.N(b, digits)))
    if scale == 0:
        return bool(difference == 0)
    return bool(difference <= (_EXACT_REL if exact else REL_TOL) * scale)


def _numbers(expr) -> list | None:
    """The elements of a set/tuple/list of numbers (or [expr] for a number); None when not all numbers."""
    import sympy

    if _is_number(expr):
        return [expr]
    if isinstance(expr, (sympy.FiniteSet, sympy.Tuple, tuple, list)):
        items = list(expr.args if isinstance(expr, sympy.Basic) else expr)
        return items if items and all(_is_number(e) for e in items) else None
    return None


def _same_numbers(gold, answer) -> bool | None:
    """Element-wise number comparison (sets in any order, tuples in order); None when not numbers."""
    import sympy

    g, a = _numbers(gold), _numbers(answer)
    if g is None or a is None:
        return None
    if len(g) != len(a):
        return False
    if isinstance(gold, sympy.FiniteSet) or isinstance(answer, sympy.FiniteSet):
        left = list(a)
        for x in g:
            match = next((y for y in left if numbers_equal(x, y)), None)
            if match is None:
                return False
            left.remove(match)
        return True
    return all(numbers_equal(x, y) for x, y in zip(g, a))


def _solution_set(expr, text: str):
    """The set an inequality answer describes (x <= 2 or x >= 3 -> (-oo, 2] U [3, oo)), else None."""
    import sympy
    from sympy.core.relational import Relational

    relations = None
    if isinstance(expr, (Relational, sympy.And, sympy.Or)) and not isinstance(expr, sympy.Eq):
        relations, join = [expr], sympy.Union
    elif isinstance(expr, sympy.FiniteSet) and expr.args and all(
            isinstance(r, Relational) and not isinstance(r, sympy.Eq) for r in expr.args):
        conjunction = re.search(r"\band\b|\\land|\\wedge", text)
        relations, join = list(expr.args), sympy.Intersection if conjunction else sympy.Union
    if relations is None or len(expr.free_symbols) != 1:
        return None
    return join(*[r.as_set() for r in relations])


def _sets_equal(gold, answer, gold_text: str, answer_text: str) -> bool | None:
    import sympy

    gold_set = _solution_set(gold, gold_text) or (gold if isinstance(gold, sympy.Set) else None)
    answer_set = _solution_set(answer, answer_text) or (answer if isinstance(answer, sympy.Set) else None)
    if gold_set is None or answer_set is None or not (
            isinstance(gold, sympy.Interval | sympy.Union) or isinstance(answer, sympy.Interval | sympy.Union)):
        return None
    return bool(sympy.simplify(sympy.SymmetricDifference(gold_set, answer_set)) == sympy.EmptySet)


def answers_equal(answer: str, ground_truth: str) -> tuple[bool, str]:
    """(equal, how): `answer` (the final answer's text) against `ground_truth` (as the data set stores it)."""
    gold_text = normalize_math(ground_truth)
    if not (answer_key := _canonical(answer)):
        return False, "empty answer"
    if answer_key == gold_text.replace(" ", ""):
        return True, "exact match"
    if (letter := _letter_gold(ground_truth)) is not None:
        chosen = _letter_answer(answer)
        return chosen == letter, "choice letter" if chosen == letter else "wrong choice letter"
    answer = _LETTER_PREFIX.sub("", answer.strip().strip("$").strip(), count=1)
    answer_pct, gold_pct = bool(_PERCENT.search(answer)), bool(_PERCENT.search(ground_truth))
    if answer_pct != gold_pct:
        return _percent_equal(answer, ground_truth, answer_pct)
    return _values_equal(normalize_math(answer), gold_text, answer, ground_truth)


def _percent_equal(answer: str, ground_truth: str, answer_pct: bool) -> tuple[bool, str]:
    """One side in percent: 25\\% equals 0.25, and a percentage gold (28\\%) its bare number (28); but 0.25\\%
    is not 1/4 (a decimal gold is not a percentage)."""
    bare_answer, bare_gold = normalize_math(_PERCENT.sub("", answer)), normalize_math(_PERCENT.sub("", ground_truth))
    if answer_pct:
        readings = [(f"\\frac{{{bare_answer}}}{{100}}", bare_gold)]
        if re.fullmatch(r"[-+]?\d+(?:\.\d+)?", bare_gold) and abs(float(bare_gold)) >= 1:
            readings.append((bare_answer, bare_gold))
    else:
        readings = [(bare_answer, bare_gold), (bare_answer, f"\\frac{{{bare_gold}}}{{100}}")]
    for a, g in readings:
        same, how = _values_equal(a, g, a, g)
        if same:
            return True, f"{how} (percent)"
    return False, "different value (percent)"


def _values_equal(answer_text: str, gold_text: str, answer: str, ground_truth: str) -> tuple[bool, str]:
    if _ELLIPSIS.search(gold_text) or _ELLIPSIS.search(answer_text):
        # math-verify drops an ellipsis ("1, 2, \\ldots, n" parses as 2): only the same text is the same sequence
        same = answer_text.replace(" ", "") == gold_text.replace(" ", "")
        return same, "same sequence" if same else "different sequence (ellipsis: compared as text)"
    from math_verify import verify

    gold, parsed = _parse(gold_text), _parse(answer_text)
    whole_gold, whole_answer = _whole(gold, gold_text), _whole(parsed, answer_text)
    if whole_gold is None or whole_answer is None:
        # never compare a fragment: the texts were compared (normalised) and differ
        side = "ground truth" if whole_gold is None else "answer"
        return False, f"{side} not parsed whole (compared as text)"
    from math_verify.errors import TimeoutException
    from math_verify.utils import timeout

    try:
        # math-verify's signal-based timeout, below the pool's hard one: a huge power tower answers in 5 s, not 10
        verdict = timeout(_PARSE_TIMEOUT_S)(_compare)(whole_gold, whole_answer, ground_truth, answer)
    except TimeoutException:
        return False, f"comparison timed out after {_PARSE_TIMEOUT_S} s"
    except Unverifiable as exc:
        return False, f"unverifiable: {exc}"
    if verdict is not None:
        return verdict
    same = bool(verify(gold, parsed, timeout_seconds=_PARSE_TIMEOUT_S))
    return same, "math-verify match" if same else "wrong answer"


def _compare(g, a, ground_truth: str, answer: str) -> tuple[bool, str] | None:
    """Our comparisons of two parsed answers (numbers, solution sets); None: leave it to math-verify."""
    if (same := _same_numbers(g, a)) is not None:
        return same, "equal value" if same else "different value"
    if (same := _sets_equal(g, a, ground_truth, answer)) is not None:
        return same, "equal set" if same else "different set"
    for side in (g, a):
        _bounded_numbers(side)  # 9^{9^{9}} against 15x - 80: unverifiable at once, not a simplify that times out
    for one, other in ((g, a), (a, g)):
        if len(_numbers(one) or ()) > 1 and _is_expression(other):
            return False, "a list against one expression"  # not math-verify's 5 s on 1,000 numbers
        if _is_number(one) and _is_expression(other) and _differs_somewhere(other, one):
            return False, "different value (an expression against a number)"  # not a 5 s simplify
    return None


# the points a symbolic expression is evaluated at to show it is not a given number (arbitrary, irrational-ish)
_PROBE_POINTS = (0.5377, 1.8339)


def _differs_somewhere(expr, number) -> bool:
    """Whether `expr` (with free symbols) surely is not the constant `number`: at some point of its symbols it
    evaluates (30 digits) to a finite value off `number` by more than REL_TOL. False when it never evaluates."""
    import sympy

    symbols = sorted(expr.free_symbols, key=str)
    for point in _PROBE_POINTS:
        value = sympy.N(expr.xreplace({s: sympy.Float(point + i / 7, 30) for i, s in enumerate(symbols)}), 30)
        if isinstance(value, sympy.Float | sympy.Integer | sympy.Rational) and value.is_finite:
            target = sympy.N(number, 30)
            if abs(value - target) > REL_TOL * max(abs(value), abs(target), 1):
                return True
    return False


def _is_expression(expr) -> bool:
    """A single symbolic expression (15x - 80), not a number, a set, a tuple or a relation."""
    import sympy

    return isinstance(expr, sympy.Expr) and not expr.is_number


def is_plain_number(text: str) -> bool:
    """The text is an integer, a decimal or a plain fraction (decided without parsing)."""
    return _plain_number(_canonical(text)) is not None


def gold_problem(ground_truth: str) -> str | None:
    """Why this grader cannot compare `ground_truth` by value (answers are then matched to it as normalised text
    only), or None when it can: "not parsed", "parsed partly, as <fragment>" or "unverifiable: ...". Run by
    `curiosft prepare-data` on every gold (ScoringPool.check_golds), in a worker under the pool's timeout."""
    text = normalize_math(_PERCENT.sub("", ground_truth))
    if (_plain_number(text.replace(" ", "")) is not None or _letter_gold(ground_truth) is not None
            or _ELLIPSIS.search(text)):
        return None
    parsed = _parse(text)
    if not parsed or isinstance(parsed[0], str):
        return "not parsed"
    if (whole := _whole(parsed, text)) is None:
        return f"parsed partly, as {parsed[0]}"
    try:
        _bounded_numbers(whole)
    except Unverifiable as exc:
        return f"unverifiable: {exc}"
    return None


def grade_math(response: str, ground_truth: str) -> tuple[float, str | None, str]:
    """(score, extracted final answer, reason) for one response; 1.0 only when its final answer equals the truth."""
    final = final_answer(response)
    if final is None:
        return 0.0, None, "no final answer"
    try:
        same, how = answers_equal(final.text, ground_truth)
    except Exception as exc:  # noqa: BLE001 - sympy raising on odd input is a wrong answer, not a crash
        return 0.0, final.text, f"grader error: {type(exc).__name__}"
    return float(same), final.text, f"{how}{_source_note(final)}"
