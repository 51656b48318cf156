"""Synthetic addition problems with step-by-step digit working, in the real data sets' shape.

A demonstration looks like a (very short) reasoning trace of the real SFT data:

    <think>
    7+9+0=16, write 6 carry 1
    4+8+1=13, write 3 carry 1
    3+5+1=9, write 9 carry 0
    </think>
    The answer is \\boxed{936}.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Addition:
    a: int
    b: int

    @property
    def answer(self) -> int:
        return self.a + self.b

    def question(self) -> str:
        return f"What is {self.a} + {self.b}?"

    def choice_question(self) -> str:
        # a different surface form from training: the out-of-distribution multiple-choice set
        return f"Which of the following numbers is the sum of {self.a} and {self.b}?"

    def working(self) -> str:
        """The digit-by-digit trace, least significant digit first, ending in the boxed answer."""
        xs, ys = str(self.a)[::-1], str(self.b)[::-1]
        carry, lines = 0, []
        for i in range(max(len(xs), len(ys))):
            x = int(xs[i]) if i < len(xs) else 0
            y = int(ys[i]) if i < len(ys) else 0
            total = x + y + carry
            lines.append(f"{x}+{y}+{carry}={total}, write {total % 10} carry {total // 10}")
            carry = total // 10
        if carry:
            lines.append(f"write {carry}")
        body = "\n".join(lines)
        return f"<think>\n{body}\n</think>\nThe answer is \\boxed{{{self.answer}}}."


def sample_addition(rng: random.Random, digits: tuple[int, int] | list[int]) -> Addition:
    """Both operands get a digit count drawn uniformly from [lo, hi]."""
    lo, hi = digits

    def operand() -> int:
        n = rng.randint(lo, hi)
        return rng.randint(10 ** (n - 1) if n > 1 else 0, 10**n - 1)

    return Addition(operand(), operand())


def distractors(rng: random.Random, problem: Addition, count: int) -> list[int]:
    """Plausible wrong sums: a dropped or extra carry, a slipped digit; distinct, non-negative."""
    answer, wrong = problem.answer, []
    n_digits = len(str(answer))
    candidates = [answer + s * 10**k for k in range(n_digits + 1) for s in (1, -1)]
    candidates += [answer + s * d for d in (1, 2, 9, 11) for s in (1, -1)]
    rng.shuffle(candidates)
    for value in candidates:
        if value >= 0 and value != answer and value not in wrong:
            wrong.append(value)
        if len(wrong) == count:
            break
    return wrong


def multiple_choice(rng: random.Random, problem: Addition, n_choices: int) -> tuple[list[str], int]:
    """Option texts and the index of the correct one (position drawn uniformly)."""
    options = distractors(rng, problem, n_choices - 1)
    answer_index = rng.randrange(n_choices)
    options.insert(answer_index, problem.answer)
    return [str(o) for o in options], answer_index
