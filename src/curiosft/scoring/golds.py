"""Ground truths as the grader reads them, settled once when a data set is prepared (`curiosft prepare-data`).

- `normalize_gold`: a gold written as Python code in its source file (Minerva Math has `-1./3`, `-3./2` and
  `np.arcsin(10/13)`) becomes the LaTeX a model writes (`-1/3`, `\\arcsin(10/13)`); no model answer could match
  the code text, so those rows cost every model ~1.1 points of Minerva accuracy. Golds not written as code
  (any backslash, no `np.` / `math.` / `**` / `1.`) are returned unchanged.
- `check_golds` (through `ScoringPool.check_golds`): which golds the default grader cannot parse whole; those are
  compared as normalised text only (curiosft.scoring.math), and prepare-data lists them in the data manifest.
"""

from __future__ import annotations

import re

_STRAY_DOLLAR = re.compile(r"(?<!\\)\$")
_CODE_MARKS = re.compile(r"\b(?:np|numpy|math)\.|\*\*|(?<=\d)\.(?!\d)")
_MODULE = r"(?:np|numpy|math)\."
_CONSTANTS = [(re.compile(rf"\b{_MODULE}pi\b"), r"\\pi"), (re.compile(rf"\b{_MODULE}e\b"), "e"),
              (re.compile(rf"\b{_MODULE}inf\b"), r"\\infty")]
# numpy / math functions and their LaTeX (np.log is the natural logarithm)
_FUNCTIONS = {"arcsin": r"\arcsin", "arccos": r"\arccos", "arctan": r"\arctan", "asin": r"\arcsin",
              "acos": r"\arccos", "atan": r"\arctan", "sin": r"\sin", "cos": r"\cos", "tan": r"\tan",
              "exp": r"\exp", "log": r"\ln", "log10": r"\log_{10}", "log2": r"\log_{2}"}
_FUNCTION_CALL = re.compile(rf"\b{_MODULE}(\w+)\(")
_SQRT_CALL = re.compile(rf"\b{_MODULE}sqrt\(")
_BARE_POINT = re.compile(r"(?<=\d)\.(?!\d)")
_POWER = re.compile(r"\*\*\s*(\([^()]*\)|[-+]?[\w.]+)")


def _closing_paren(text: str, start: int) -> int | None:
    """Index of the ")" closing the "(" at text[start - 1], or None."""
    depth = 1
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    return None


def normalize_gold(gold: str) -> str:
    """A code-written gold as LaTeX (`-1./3` -> `-1/3`, `np.arcsin(10/13)` -> `\\arcsin(10/13)`, `np.sqrt(2)` ->
    `\\sqrt{2}`, `x**2` -> `x^{2}`, `np.pi` -> `\\pi`); math-mode delimiters left inside a gold dropped (Minerva's
    `x_{0} \\cos (\\omega t)+$ $\\dot{x}_{0} ...`; an escaped `\\$` stays); any other gold unchanged. An unknown
    numpy function or an unbalanced call is left as written (the gold check then reports it)."""
    if _STRAY_DOLLAR.search(gold):
        gold = re.sub(r"\s+", " ", _STRAY_DOLLAR.sub(" ", gold)).strip()
    text = gold.strip()
    if "\\" in text or not _CODE_MARKS.search(text):
        return gold
    for pattern, latex in _CONSTANTS:
        text = pattern.sub(latex, text)
    while match := _SQRT_CALL.search(text):
        end = _closing_paren(text, match.end())
        if end is None:
            return gold
        text = f"{text[:match.start()]}\\sqrt{{{text[match.end():end]}}}{text[end + 1:]}"
    text = _FUNCTION_CALL.sub(lambda m: f"{_FUNCTIONS[m.group(1)]}(" if m.group(1) in _FUNCTIONS else m.group(), text)
    if re.search(rf"\b{_MODULE}", text):
        return gold
    text = _POWER.sub(lambda m: f"^{{{m.group(1)}}}", text)
    text = _BARE_POINT.sub("", text).replace("*", " \\cdot ")
    return re.sub(r"\s+", " ", text).strip()
