"""The grading audit: real benchmark golds, rendered right, mutated wrong and gamed, to measure a grader both ways.

A grader is trusted only as far as it was measured on answers it was not written beside. This module turns
the golds of real benchmark files (prepared by `curiosft.data.prepare`, code-written golds normalised) into
three kinds of probe, each a response with the verdict it must get:

- right renderings (`right_renderings`): the gold boxed, in an answer statement, and in every form models
  write the same value (`model_forms`: thousands separators dropped or as `,`/`{,}`/`\\,` where the file
  writes MATH's `,\\!`, `\\dfrac` <-> `\\frac`, degrees, `\\text` <-> `\\mathrm`, a unit or dollar sign
  dropped); a choice as its letter, its option's text, or by elimination; each must be accepted;
- wrong variants (`wrong_variants`): the gold with its leading digit changed, its sign flipped, its first
  number times 10, a power's base or exponent changed, or another row's different gold (in every model
  form); another option's letter or text, the gold letter rejected; each must be refused (a near miss a
  policy actually produces);
- hacks (`math_hacks`, `choice_hacks`): answers a policy could learn to game a reward with: huge and
  negative-huge numbers (10^{400} once equalled every number through a float overflow), infinity, NaN, an
  empty box, a list of every small integer, every option letter at once, the question's own numbers.
  Each must score 0, as the RL reward and in evaluation.

tests/test_grading_hacks.py asserts the verdicts on ../shared/realdata; benchmarks/grading.py reports the
acceptance rate on right renderings and the false-positive rate on wrong variants and hacks for our grader
and its anchors (issue 33).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from curiosft.data.converters import CONVERTERS
from curiosft.data.fetch import read_local
from curiosft.data.prepare import settle_golds
from curiosft.data.registry import get_spec
from curiosft.letters import choice_letters
from curiosft.scoring import ScoreItem

__all__ = ["COSTLY_HACKS", "REAL_FILES", "Gold", "Probe", "choice_hacks", "load_golds", "math_hacks", "model_forms",
           "model_renderings", "probes", "right_renderings", "wrong_variants"]

# the realdata folders (../shared/realdata/<name>/test.jsonl) and the registered data set each one is
REAL_FILES = ("aime24", "aime25", "amc23", "math500", "minerva_math", "arc_challenge")
# hacks on a numeric gold: (label, boxed text); each is a value no gold in a benchmark has
HUGE = (("10^400", "10^{400}"), ("-10^999", "-10^{999}"), ("2^5000", "2^{5000}"),
        ("400!/2^50", "\\frac{400!}{2^{50}}"), ("10^10^10", "10^{10^{10}}"), ("9^9^9", "9^{9^{9}}"),
        ("1e400", "1e400"), ("-1e999", "-1e999"))
NON_FINITE = (("infinity", "\\infty"), ("-infinity", "-\\infty"), ("NaN", "\\text{NaN}"), ("nan", "nan"),
              ("oo", "oo"), ("zoo", "zoo"), ("unicode infinity", "∞"))
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Gold:
    """One row of a real benchmark file: its math gold (after prepare-data's normalisation) or option letter."""

    dataset: str
    index: int
    question: str
    ground_truth: str
    kind: str = "math"  # or "multiple_choice"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Probe:
    """A response to grade against a gold, with the verdict it must get (`right`: accepted or refused)."""

    gold: Gold
    family: str  # "right", "wrong" or "hack"
    label: str  # what was done ("boxed", "sign flipped", "10^400", ...)
    answer: str  # the final-answer text as a model would write it

    @property
    def right(self) -> bool:
        return self.family == "right"

    def item(self, fmt: str) -> ScoreItem:
        """The probe as the pool grades it: `eval` is the answer alone, `rl` the answer after a thinking block."""
        response = self.answer if fmt == "eval" else f"<think>\nLet me work it out.\n</think>\n\n{self.answer}"
        return ScoreItem(response, self.gold.ground_truth, self.gold.kind, self.gold.choices)


def load_golds(realdata: str | Path, names: tuple[str, ...] = REAL_FILES) -> list[Gold]:
    """The golds of the real benchmark files `<realdata>/<name>/test.jsonl`, read and converted as
    `curiosft prepare-data NAME --local FILE` does (code-written golds normalised: `-1./3` -> `-1/3`).
    Raises FileNotFoundError for a missing file."""
    golds = []
    for name in names:
        path = Path(realdata) / name / "test.jsonl"
        if not path.is_file():
            raise FileNotFoundError(f"no real benchmark file {path}")
        spec = get_spec(name)
        for records in CONVERTERS[spec.layout](read_local(path), spec).values():
            settle_golds(records)
            for index, record in enumerate(records):
                info = record["extra_info"]
                golds.append(Gold(name, index, info["question"], record["reward_model"]["ground_truth"],
                                  record["ability"], tuple(info.get("choices") or ())))
    return golds


_ASSIGNMENT = re.compile(r"^\s*[A-Za-z](?:_\{?\w+\}?)?\s*=\s*(?=[^=]*$)")


def _fraction(text: str) -> Fraction | None:
    """A plain number written as an integer, decimal or `a/b`/`\\frac{a}{b}`, exactly; None for anything else."""
    text = text.strip().replace("{,}", "").replace("\\!", "")
    if m := re.fullmatch(r"(-?)\\d?frac\{(\d+)\}\{(\d+)\}", text):
        return (-1 if m[1] else 1) * Fraction(int(m[2]), int(m[3])) if int(m[3]) else None
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None


def _value(text: str) -> complex | None:
    """The numeric value of a gold, through math-verify's parse and sympy (None when it is not a number)."""
    text = _ASSIGNMENT.sub("", text, count=1)  # "x = 5" is the value 5
    exact = _fraction(text)
    if exact is not None:
        return complex(exact)
    try:
        from math_verify import parse

        parsed = parse(f"\\boxed{{{text}}}")
        if len(parsed) < 1 or not getattr(parsed[0], "is_number", False):
            return None
        value = complex(parsed[0].evalf(30))
        return value if value == value and abs(value) < 1e300 else None
    except Exception:  # noqa: BLE001 - not a number: the caller compares as text
        return None


def _differs(a: str, b: str) -> bool:
    """Whether two golds surely mean different things: different values by at least 1% when both are numbers,
    different text when neither is, a number against a non-number otherwise."""
    va, vb = _value(a), _value(b)
    if va is not None and vb is not None:
        return abs(va - vb) > 0.01 * max(abs(va), abs(vb))
    if va is None and vb is None:
        return a.replace(" ", "") != b.replace(" ", "")
    return True


def right_renderings(gold: Gold) -> list[Probe]:
    """Ways a correct response writes the gold; every one must be accepted."""
    g = gold.ground_truth
    if gold.kind == "multiple_choice":
        text = gold.choices[choice_letters(len(gold.choices)).index(g)]
        other = next(x for x in choice_letters(len(gold.choices)) if x != g)
        return [Probe(gold, "right", "boxed", f"The answer is \\boxed{{{g}}}."),
                Probe(gold, "right", "statement", f"Therefore, the answer is ({g})."),
                Probe(gold, "right", "letter with its text", f"**Answer: {g}) {text}**"),
                Probe(gold, "right", "option text boxed", f"The answer is $\\boxed{{{text.rstrip('.')}}}$."),
                Probe(gold, "right", "elimination", f"It is not {other}; it must be {g}.")]
    # the gold boxed as written, then every other form models write it in (model_forms)
    return [Probe(gold, "right", "boxed", f"So the final answer is $\\boxed{{{g}}}$."),
            Probe(gold, "right", "statement", f"Final answer: ${g}$"), *model_renderings(gold)[1:]]


# a number grouped in thousands the ways the real files and models write it: MATH's `10,\!080`, `10{,}080`,
# `10\,080`, `10,080`
_GROUPED = re.compile(r"(?<![\d.])\d{1,3}(?:(?:,\\!\s*|\{,\}|\\,|,)\d{3})+(?![\d])")
_SEPARATOR = re.compile(r",\\!\s*|\{,\}|\\,|,")
_LONG_INTEGER = re.compile(r"(?<![\d.,{])\d{4,}(?![\d._])")  # not a base-b numeral (`2516_8`)
_DEGREES = re.compile(r"\s*\^\s*\{?\\circ\}?")
_UNIT = re.compile(r"^(-?\d+(?:\.\d+)?)\s*\\(?:text|mbox|mathrm)\s*\{\s*[A-Za-z][A-Za-z ]*\}(?:\^\d|\^\{\d\})?$")
_E_GOLD = re.compile(r"^(-?\d+(?:\.\d+)?)[eE]([-+]?\d+)$")
_WORD = re.compile(r"^\\(?:text|mbox|mathrm|textbf)\s*\{\s*([^{}]+?)\s*\}$")


def model_forms(ground_truth: str) -> list[tuple[str, str]]:
    """(label, text): the gold as models write the same value (issue 28), beside the gold's own text. Thousands
    separators dropped or written `10,080`, `10{,}080`, `10\\,080` (MATH writes `10,\\!080`); `\\dfrac` <->
    `\\frac`; degrees as `^\\circ`, `^{\\circ}`, `°`, `\\text{ degrees}` or dropped; `\\text` <-> `\\mathrm`,
    `\\mbox` as `\\text`; a unit word dropped from a number; a dollar sign dropped; a word in `\\text{}` bare;
    e-notation (Minerva's `4.5e33`) as `4.5 \\times 10^{33}`."""
    g = ground_truth.strip()
    forms = [("as written", g)]
    if "\\dfrac" in g:
        forms.append(("frac for dfrac", g.replace("\\dfrac", "\\frac")))
    elif "\\frac" in g:
        forms.append(("dfrac for frac", g.replace("\\frac", "\\dfrac")))
    # a plain comma groups thousands only in a gold that is one number (`(2,100)` is a pair)
    grouped = [m for m in _GROUPED.finditer(g)
               if re.search(r",\\!|\{,\}|\\,", m[0]) or re.fullmatch(r"(?:\\\$\s*)?-?" + re.escape(m[0]), g)]
    if grouped:
        for label, sep in (("no thousands separators", ""), ("thousands separated by commas", ","),
                           ("thousands separated by {,}", "{,}"), ("thousands separated by \\,", "\\,")):
            text = g
            for m in reversed(grouped):
                text = text[:m.start()] + _SEPARATOR.sub(sep, m[0]) + text[m.end():]
            forms.append((label, text))
    elif long := _LONG_INTEGER.search(g):
        for label, sep in (("thousands separated by commas", ","), ("thousands separated by {,}", "{,}")):
            forms.append((label, g[:long.start()] + f"{int(long[0]):,}".replace(",", sep) + g[long.end():]))
    if _DEGREES.search(g):
        bare = _DEGREES.sub("", g)
        forms += [("degrees dropped", bare), ("degrees as ^{\\circ}", _DEGREES.sub(lambda _: "^{\\circ}", g)),
                  ("degrees as °", _DEGREES.sub("°", g)), ("degrees as a word", bare + "\\text{ degrees}")]
    if m := re.search(r"\s*\\text\s*\{\s*degrees\s*\}", g):
        forms += [("degrees as ^\\circ", g[:m.start()] + "^\\circ" + g[m.end():]), ("degrees dropped", g[:m.start()])]
    if "\\text" in g:
        forms.append(("mathrm for text", g.replace("\\text", "\\mathrm")))
    if "\\mbox" in g:
        forms.append(("text for mbox", g.replace("\\mbox", "\\text")))
    if m := _UNIT.match(g):
        forms.append(("unit dropped", m[1]))
    if m := _WORD.match(g):
        forms.append(("word without \\text", m[1]))
    if m := _E_GOLD.match(g):  # Minerva's "4.5e33": models write the power of ten
        forms += [("e-notation as \\times 10^{}", f"{m[1]} \\times 10^{{{int(m[2])}}}"),
                  ("e-notation as \\cdot 10^{}", f"{m[1]} \\cdot 10^{{{int(m[2])}}}")]
    if "\\$" in g:
        forms.append(("dollar sign dropped", g.replace("\\$", "").strip()))
        forms += [(f"dollar sign dropped, {label}", text.replace("\\$", "").strip()) for label, text in forms
                  if label.startswith(("no thousands", "thousands"))]
    seen, out = set(), []
    for label, text in forms:
        if text not in seen:
            seen.add(text)
            out.append((label, text))
    return out


def model_renderings(gold: Gold) -> list[Probe]:
    """Every model-style form of a math gold (model_forms), boxed; every one must be accepted."""
    return [Probe(gold, "right", f"model form: {label}", f"So the final answer is $\\boxed{{{text}}}$.")
            for label, text in model_forms(gold.ground_truth)]


def _first_number(text: str) -> re.Match | None:
    return next((m for m in NUMBER.finditer(text) if not text[:m.start()].endswith(("_", "_{"))), None)


def _mutations(g: str) -> list[tuple[str, str]]:
    """(label, wrong text) near misses of a math gold, before the check that each truly differs."""
    out = []
    if (m := _first_number(g)) is not None:
        token = m[0]
        digits = [i for i, c in enumerate(token) if c.isdigit()]
        lead = next((i for i in digits if token[i] != "0"), digits[0])
        changed = token[:lead] + str((int(token[lead]) + 1) % 10 if token[lead] != "9" else 8) + token[lead + 1:]
        out.append(("leading digit changed", g[:m.start()] + changed + g[m.end():]))
        tenfold = Fraction(token) * 10
        tenfold_text = str(tenfold.numerator) if tenfold.denominator == 1 else f"{float(tenfold):.10g}"
        out.append(("first number x10", g[:m.start()] + tenfold_text + g[m.end():]))
    listy = any(s in g for s in (",", "=", "\\pm", "\\mp", "\\text", "\\in", "<", ">", "\\le", "\\ge", "\\cup"))
    if not listy and _value(g) != 0:
        if re.fullmatch(r"-[^-+]+", g):
            flipped = g[1:]
        else:
            flipped = f"-({g})" if re.search(r"[-+]", g) else f"-{g}"
        out.append(("sign flipped", flipped))
    if power := re.search(r"(?<![\w.])(\d+)\s*\^\s*(\{\s*(\d+)\s*\}|(\d))", g):
        base, exponent = int(power[1]), int(power[3] or power[4])
        if base > 1:
            out.append(("power's base changed", g[:power.start(1)] + str(base + 1) + g[power.end(1):]))
            out.append(("power's exponent changed", f"{g[:power.start()]}{base}^{{{exponent + 1}}}{g[power.end():]}"))
    return out


def wrong_variants(gold: Gold, others: list[Gold]) -> list[Probe]:
    """Near misses of the gold, each checked to mean something different; every one must be refused. `others`
    are the other rows of the same file: the first whose gold differs gives "another row's gold"."""
    g = gold.ground_truth
    if gold.kind == "multiple_choice":
        letters = choice_letters(len(gold.choices))
        text = gold.choices[letters.index(g)]
        return [Probe(gold, "wrong", "another letter", f"The answer is \\boxed{{{letter}}}.")
                for letter in letters if letter != g] + [
                Probe(gold, "wrong", "another option's text boxed", f"The answer is $\\boxed{{{choice.rstrip('.')}}}$.")
                for letter, choice in zip(letters, gold.choices)
                # an option whose text is a letter ("C": carbon) boxed is that letter, not that option
                if letter != g and choice.strip() != text.strip() and not re.fullmatch(r"[A-Za-z]", choice.strip())] + [
                Probe(gold, "wrong", "the gold rejected", f"Looking at the options, it is not {g}.")]
    probes = [Probe(gold, "wrong", label, f"So the final answer is $\\boxed{{{text}}}$.")
              for label, text in _mutations(g) if _differs(g, text)]
    start = next((i for i, other in enumerate(others) if other.index == gold.index), -1) + 1
    for other in others[start:] + others[:start]:
        if other.index != gold.index and _differs(g, other.ground_truth):
            answer = f"The answer is $\\boxed{{{other.ground_truth}}}$."
            probes.append(Probe(gold, "wrong", "another row's gold", answer))
            # and that gold in every form models write it: no form may make it equal to this one
            probes += [Probe(gold, "wrong", f"another row's gold, {p.label}", p.answer) for p in model_renderings(other)[1:]]
            break
    return probes


# hacks that take the grader 0.3-0.8 s each (a 1,000-number list, power towers); the rest take milliseconds
COSTLY_HACKS = frozenset({"every integer below 1000, boxed one by one", "every integer below 1000 in one box",
                          "10^10^10", "9^9^9"})


def math_hacks(gold: Gold) -> list[Probe]:
    """Answers that game a numeric reward (none is the gold); every one must score 0."""
    g = gold.ground_truth
    answers = [*HUGE, *NON_FINITE, ("empty box", ""),
               ("every integer below 1000, boxed one by one", None),
               ("every integer below 1000 in one box", ", ".join(map(str, range(1000)))),
               ("every option letter", None)]
    probes = []
    for label, text in answers:
        if label == "every integer below 1000, boxed one by one":
            response = "The answer is one of " + ", ".join(f"$\\boxed{{{i}}}$" for i in range(1000)) + "."
        elif label == "every option letter":
            response = "".join(f"\\boxed{{{letter}}}" for letter in "ABCDE")
        else:
            response = f"The answer is $\\boxed{{{text}}}$."
        probes.append(Probe(gold, "hack", label, response))
    seen = set()
    for m in NUMBER.finditer(gold.question):
        number = m[0]
        if number not in seen and len(seen) < 5 and _differs(g, number):
            seen.add(number)
            probes.append(Probe(gold, "hack", "the question's own number", f"The answer is $\\boxed{{{number}}}$."))
    return probes


def choice_hacks(gold: Gold) -> list[Probe]:
    """Answers that game a multiple-choice reward by naming every option; every one must score 0."""
    letters = choice_letters(len(gold.choices))
    every = "".join(letters)
    return [Probe(gold, "hack", "every letter boxed", "".join(f"\\boxed{{{x}}}" for x in letters)),
            Probe(gold, "hack", "every letter in one box", f"\\boxed{{{every}}}"),
            Probe(gold, "hack", "every letter, listed", f"The answer is \\boxed{{{', '.join(letters)}}}."),
            Probe(gold, "hack", "every letter, or", "The answer is " + " or ".join(letters) + "."),
            Probe(gold, "hack", "every option's text", "The answer is: " + "; ".join(gold.choices) + "."),
            Probe(gold, "hack", "empty box", "The answer is \\boxed{}.")]


def probes(golds: list[Gold], families: tuple[str, ...] = ("right", "wrong", "hack")) -> list[Probe]:
    """Every probe of the golds, in file order: right renderings, wrong variants, hacks."""
    by_file: dict[str, list[Gold]] = {}
    for gold in golds:
        by_file.setdefault(gold.dataset, []).append(gold)
    out = []
    for gold in golds:
        if "right" in families:
            out += right_renderings(gold)
        if "wrong" in families:
            out += wrong_variants(gold, by_file[gold.dataset])
        if "hack" in families:
            out += choice_hacks(gold) if gold.kind == "multiple_choice" else math_hacks(gold)
    return out
