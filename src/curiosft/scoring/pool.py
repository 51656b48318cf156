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
    signal to the job (a worker it killed would score its item 0: curiosft.preemption). The signal is
    ignored first: a signal that arrived during the import (a second or more on busy cores) killed the
    worker, seen as a failure of test_preemption's survival test on a loaded machine."""
    from curiosft.preemption import ignore_time_limit_signal

    ignore_time_limit_signal()
    import math_verify  # noqa: F401


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

    def answer_classes(self, prompts: Sequence[tuple[str, Sequence[str | None], Sequence[float]]],
                       progress: bool = False) -> list[list[int | None]]:
        """The grader's equivalence classes of each prompt's extracted answers, for maj@n (a vote counts
        `\\dfrac{1}{2}`, `0.5` and `1/2` as one answer). `prompts`: (kind, extracted answers, scores) per
        prompt, one entry per sample. Returns per prompt, per sample, its class: the index of the first sample
        with an equivalent answer (None where no answer was extracted).

        The samples graded correct are one class (each equals the gold). Wrong answers are compared in pairs
        (distinct texts only; one as the response's boxed answer, the other as the gold) with this pool's
        grader and timeout, and joined where equal (a timeout joins nothing); multiple-choice letters by text.
        """
        classes: list[list[int | None]] = []
        pairs: dict[tuple[int, int, int], object] = {}  # (prompt, sample a, sample b) -> grade or future
        for p, (kind, extracted, scores) in enumerate(prompts):
            first: dict[str, int] = {}
            correct = next((i for i, (e, s) in enumerate(zip(extracted, scores)) if e is not None and s > 0.5), None)
            labels: list[int | None] = []
            for i, (answer, score) in enumerate(zip(extracted, scores)):
                if answer is None:
                    labels.append(None)
                elif score > 0.5:
                    labels.append(correct)
                else:
                    labels.append(first.setdefault(answer, i))
            classes.append(labels)
            if kind == "multiple_choice":
                continue
            wrong = sorted({label for label, s in zip(labels, scores) if label is not None and s <= 0.5})
            for a_index, a in enumerate(wrong):
                for b in wrong[a_index + 1:]:
                    response, gold = f"\\boxed{{{extracted[b]}}}", str(extracted[a])
                    decided = self.grader.decide_in_parent(response, gold)
                    pairs[(p, a, b)] = Grade(*decided) if decided is not None else self._pool.schedule(
                        _call_in_worker, (self.grader.math, response, gold), timeout=self.timeout_s)
        items = pairs.items()
        if progress and pairs:
            from tqdm import tqdm

            items = tqdm(items, total=len(pairs), desc="maj@n classes", unit="pair", mininterval=2.0)
        equal: dict[int, list[tuple[int, int]]] = {}
        for (p, a, b), grade in items:
            if not isinstance(grade, Grade):
                grade = self._result(grade, "")
            if grade.score > 0.5:
                equal.setdefault(p, []).append((a, b))
        for p, joined in equal.items():
            root = {}

            def find(x: int, root: dict = root) -> int:
                while root.get(x, x) != x:
                    x = root[x]
                return x

            for a, b in joined:
                ra, rb = find(a), find(b)
                root[max(ra, rb)] = min(ra, rb)
            classes[p] = [None if label is None else find(label) for label in classes[p]]
        return classes

    def sample_classes(self, kinds: Sequence[str], prompt_keys: Sequence, grades: Sequence[Grade]) -> list[int | None]:
        """answer_classes for samples listed prompt by prompt (`prompt_keys` name each sample's prompt; its
        samples in order): each sample's class, in the order given."""
        groups: dict[object, list[int]] = {}
        for row, key in enumerate(prompt_keys):
            groups.setdefault(key, []).append(row)
        rows = list(groups.values())
        classes = self.answer_classes([(kinds[r[0]], [grades[i].extracted for i in r], [grades[i].score for i in r])
                                       for r in rows])
        out: list[int | None] = [None] * len(prompt_keys)
        for r, labels in zip(rows, classes):
            for i, label in zip(r, labels):
                out[i] = label
        return out

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
