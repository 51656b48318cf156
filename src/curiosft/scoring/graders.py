"""Graders by name (`scoring.grader`): the default, corrected grader and the release's protocol.

A grader is a math function `(response, ground_truth) -> (score, extracted, reason)`, run in the pool's
worker processes, and a multiple-choice extractor `(response, choices) -> letter | None`, run in the parent.
Every per-sample record and reward-server answer carries the grader's name and version: bump `version`
whenever a change can flip a verdict (tests/test_grading_corpus.py holds the verdicts).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from curiosft.errors import UnknownNameError

DEFAULT_GRADER = "curiosft"


@dataclass(frozen=True)
class Grader:
    name: str
    version: str
    description: str
    # "module:function" of the math grader (imported in the worker: math-verify stays out of the parent)
    math: str
    extract_choice: Callable[[str, Sequence[str]], str | None]
    # the grades that need no parsing (no answer, the same text, plain numbers), decided in the parent without
    # a worker: (response, ground_truth) -> (score, extracted, reason) or None for the worker
    decide_in_parent: Callable[[str, str], tuple[float, str | None, str] | None]

    @property
    def tag(self) -> str:
        return f"{self.name}-{self.version}"


@functools.cache
def _graders() -> dict[str, Grader]:
    from curiosft.scoring import choice, release
    from curiosft.scoring.math import decide_without_sympy

    return {
        "curiosft": Grader(
            "curiosft", "4", "final answer only (box, else last answer statement, else a closing 'is X.' sentence); "
            "exact values exactly in arbitrary precision, decimals within a relative tolerance, beyond 10^10000 "
            "unverifiable; whole parses only; inequalities vs intervals; last stated choice wins, hedges (several "
            "letters, boxes or option texts at once) score 0; a choice by its option's value when one option has it; "
            "MATH's ',\\!' thousands separator (version 4, issue 28)",
            "curiosft.scoring.math:grade_math", choice.extract_choice, decide_without_sympy),
        "release": Grader(
            "release", "1", "the CurioSFT release: max(math-verify on the whole response, last-\\boxed{} text "
            "match); the pre-2 choice extractor",
            "curiosft.scoring.release:grade_math_release", release.extract_choice_release,
            release.boxed_match_in_parent),
    }


def grader_names() -> tuple[str, ...]:
    return tuple(_graders())


def get_grader(name: str) -> Grader:
    graders = _graders()
    if name not in graders:
        raise UnknownNameError(f"unknown grader {name!r}; choose one of {', '.join(graders)} (scoring.grader)")
    return graders[name]
