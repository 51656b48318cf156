"""Synthetic (response, ground truth) pairs for exercising a reward server: the benchmark and the tests.

Correct and wrong answers in the forms real responses take (boxed integers, fractions, expressions that
only math-verify can match, missing `</think>` in RL format), plus pathological answers that hang or
blow up a naive grader (deep nesting, towers of powers, huge sums).
"""

from __future__ import annotations

import random

PATHOLOGICAL_ANSWERS = [
    "(" * 5000,
    "9^{9^{9^{9^{9^{9}}}}}",
    "2^{2^{2^{2^{2^{100000}}}}}",
    "+".join(["x"] * 20000),
    "\\frac{1}{" * 400 + "2" + "}" * 400,
]


def _response(answer: str) -> str:
    return f"<think>\nworking it out\n</think>\nThe answer is \\boxed{{{answer}}}."


def make_pairs(n: int, *, pathological_fraction: float = 0.0, seed: int = 0) -> list[tuple[dict, float | None]]:
    """n (item, expected score) pairs; expected is None for pathological items (0 once graded or timed out)."""
    rng = random.Random(seed)
    pairs: list[tuple[dict, float | None]] = []
    for i in range(n):
        if rng.random() < pathological_fraction:
            pairs.append(({"response": _response(rng.choice(PATHOLOGICAL_ANSWERS)), "ground_truth": "1",
                           "data_source": "pathological"}, None))
            continue
        a, b = rng.randint(1, 99), rng.randint(2, 9)
        kind = i % 4
        if kind == 0:  # boxed integer, right or wrong
            right = rng.random() < 0.5
            item = {"response": _response(str(a * b if right else a * b + 1)), "ground_truth": str(a * b)}
            expected = float(right)
        elif kind == 1:  # a fraction written two ways: math-verify's job
            item = {"response": _response(f"\\frac{{{a}}}{{{b}}}"), "ground_truth": f"{a}/{b}"}
            expected = 1.0
        elif kind == 2:  # an expression equal to the ground truth's value
            item = {"response": _response(f"{a}+{b}"), "ground_truth": str(a + b)}
            expected = 1.0
        else:  # no </think>: zero in RL format
            item = {"response": f"The answer is \\boxed{{{a}}}.", "ground_truth": str(a)}
            expected = 0.0
        pairs.append(({**item, "data_source": "synthetic"}, expected))
    return pairs
