"""Math answer grading as in the CurioSFT release: the max of math-verify and the last-\\boxed{} grader.

`grade_math` is what worker processes run (math-verify can hang on pathological input, so the parent
enforces a hard timeout: see curiosft.scoring.pool).
"""

from __future__ import annotations

from curiosft.scoring.boxed import boxed_match, last_boxed_answer

# math-verify's own (signal-based) timeouts, kept below the pool's hard timeout
_PARSE_TIMEOUT_S = 5


def _wrap_gold(ground_truth: str) -> str:
    gold = ground_truth.strip()
    return gold if "\\boxed" in gold else f"\\boxed{{{gold}}}"


def math_verify_match(response: str, ground_truth: str) -> bool:
    """math-verify's verdict: the response's answer equals the ground truth (math-equivalence)."""
    from math_verify import parse, verify

    gold = parse(_wrap_gold(ground_truth), parsing_timeout=_PARSE_TIMEOUT_S)
    answer = parse(response, parsing_timeout=_PARSE_TIMEOUT_S)
    if not gold or not answer:
        return False
    return bool(verify(gold, answer, timeout_seconds=_PARSE_TIMEOUT_S))


def grade_math(response: str, ground_truth: str) -> tuple[float, str | None, str]:
    """(score, extracted answer, reason). Score 1.0 when either grader accepts the answer."""
    extracted = last_boxed_answer(response)
    if boxed_match(response, ground_truth):
        return 1.0, extracted, "boxed match"
    try:
        if math_verify_match(response, ground_truth):
            return 1.0, extracted, "math-verify match"
    except Exception as exc:  # math-verify raising on odd input is a wrong answer, not a crash
        return 0.0, extracted, f"math-verify error: {type(exc).__name__}"
    return 0.0, extracted, "no boxed answer" if extracted is None else "wrong answer"
