"""Scoring many responses: math-verify in worker processes under a hard per-item timeout.

One implementation shared by evaluation (curiosft.evaluation) and the RL reward (server and verl reward
function). math-verify can hang or blow up on pathological input, and its own signal-based timeouts do
not always fire, so each math item runs in a pebble worker process: the parent enforces `timeout_s`,
kills and replaces a worker that overruns, and the item scores 0 with the reason. Nothing an input does
stops the pool.

Formats (docs/methods.md): "eval" grades the whole response; "rl" (the release's RL reward)
requires a `</think>` and grades only the text after the last one.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from pebble import ProcessExpired, ProcessPool

from curiosft.defaults import GRADING_TIMEOUT_S, GRADING_WORKERS
from curiosft.errors import ConfigError
from curiosft.scoring.boxed import last_boxed_answer
from curiosft.scoring.graders import DEFAULT_GRADER, Grader, get_grader

KINDS = ("math", "multiple_choice")
FORMATS = ("eval", "rl")
THINK_END = "</think>"


@dataclass(frozen=True)
class ScoreItem:
    response: str
    ground_truth: str
    # "math" (graded by value) or "multiple_choice" (ground truth is the option letter)
    kind: str = "math"
    choices: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown answer kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.kind == "multiple_choice" and len(self.choices) < 2:
            raise ValueError("a multiple_choice item needs its option texts in `choices` (2 or more)")


@dataclass(frozen=True)
class Grade:
    score: float
    extracted: str | None
    reason: str


def graded_text(response: str, fmt: str) -> str | None:
    """The part of the response that is graded; None when the RL format's `</think>` is missing."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown scoring format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "eval":
        return response
    head, sep, tail = response.rpartition(THINK_END)
    return tail if sep else None


def grade_choice(response: str, ground_truth: str, choices: Sequence[str], grader: Grader) -> Grade:
    letter = grader.extract_choice(response, choices)
    if letter is None:
        return Grade(0.0, None, "no choice found")
    correct = letter == ground_truth.strip().upper()
    return Grade(float(correct), letter, "correct choice" if correct else "wrong choice")


def _warm_up() -> None:
    """Worker initializer: import math-verify (and sympy) before the first timed item; leave the time-limit
    signal to the job (a worker it killed would score its item 0: curiosft.preemption)."""
    import math_verify  # noqa: F401

    from curiosft.preemption import ignore_time_limit_signal

    ignore_time_limit_signal()


def _call_in_worker(entry_point: str, *args):
    """`module:function`(*args) in a worker: the grader's math function, or the gold check."""
    import importlib

    module, function = entry_point.split(":")
    return getattr(importlib.import_module(module), function)(*args)


class ScoringPool:
    """Grades items with `workers` processes and the grader named `grader` (curiosft.scoring.graders);
    use as a context manager (or call close()). Raises UnknownNameError for an unknown grader."""

    def __init__(self, workers: int = GRADING_WORKERS, timeout_s: float = GRADING_TIMEOUT_S,
                 grader: str = DEFAULT_GRADER):
        if workers < 1:
            raise ConfigError(f"scoring workers={workers} must be >= 1")
        if timeout_s <= 0:
            raise ConfigError(f"scoring timeout_s={timeout_s} must be > 0")
        self.timeout_s = timeout_s
        self.grader = get_grader(grader)
        # spawn: the parent may hold torch threads or an event loop, which fork would copy half-broken
        self._pool = ProcessPool(max_workers=workers, initializer=_warm_up,
                                 context=multiprocessing.get_context("spawn"))

    def __enter__(self) -> ScoringPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._pool.stop()
        self._pool.join(timeout=10)

    def score(self, items: Sequence[ScoreItem], fmt: str = "eval", progress: bool = False) -> list[Grade]:
        """One Grade per item, in order."""
        grades: list[Grade | None] = [None] * len(items)
        pending = {}
        for i, item in enumerate(items):
            text = graded_text(item.response, fmt)
            if text is None:
                grades[i] = Grade(0.0, None, f"no {THINK_END} (rl format)")
            elif item.kind == "multiple_choice":
                grades[i] = grade_choice(text, item.ground_truth, item.choices, self.grader)
            elif (decided := self.grader.decide_in_parent(text, item.ground_truth)) is not None:
                grades[i] = Grade(*decided)  # no parsing needed: no worker, no sympy
            else:
                pending[i] = (text, self._pool.schedule(_call_in_worker,
                                                        (self.grader.math, text, item.ground_truth),
                                                        timeout=self.timeout_s))
        futures = pending.items()
        if progress and pending:
            from tqdm import tqdm

            futures = tqdm(futures, total=len(pending), desc="math-verify", unit="item", mininterval=2.0)
        for i, (text, future) in futures:
            grades[i] = self._result(future, text)
        return grades  # type: ignore[return-value]

    def check_golds(self, golds: Sequence[str], progress: bool = False) -> dict[int, str]:
        """{index: problem} of the golds the default grader cannot compare by value (curiosft.scoring.math.
        gold_problem: not parsed, parsed partly, unverifiable; a timeout is a problem too), each parsed in a worker
        under the pool's timeout. Plain numbers are settled in the parent without a worker."""
        from curiosft.scoring.math import is_plain_number

        futures = {i: self._pool.schedule(_call_in_worker, ("curiosft.scoring.math:gold_problem", gold),
                                          timeout=self.timeout_s)
                   for i, gold in enumerate(golds) if not is_plain_number(gold)}
        items = futures.items()
        if progress and futures:
            from tqdm import tqdm

            items = tqdm(items, total=len(futures), desc="check golds", unit="gold", mininterval=2.0)
        problems = {}
        for i, future in items:
            try:
                problem = future.result()
            except FutureTimeout:
                problem = f"timeout after {self.timeout_s:g} s"
            except Exception as exc:  # noqa: BLE001 - a gold that breaks the parser is a problem to report
                problem = f"grader error: {type(exc).__name__}"
            if problem:
                problems[i] = problem
        return problems

    def _result(self, future, text: str) -> Grade:
        """The worker's grade; a timeout or a dead worker scores 0 (with the boxed answer of the graded text)."""
        try:
            score, extracted, reason = future.result()
            return Grade(score, extracted, reason)
        except FutureTimeout:
            return Grade(0.0, last_boxed_answer(text), f"timeout after {self.timeout_s:g} s")
        except ProcessExpired as exc:
            return Grade(0.0, last_boxed_answer(text), f"grader process died (exit code {exc.exitcode})")
        except Exception as exc:  # noqa: BLE001 - an input must never stop scoring
            return Grade(0.0, last_boxed_answer(text), f"grader error: {type(exc).__name__}: {exc}")
