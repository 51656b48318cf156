"""Scoring: the default grader in worker processes (final answer, value comparison), multiple-choice extraction.

The grading corpus (tests/data/grading, tests/test_grading_corpus.py) holds the cases from public reports."""

from __future__ import annotations

import time

import pytest

from curiosft.scoring import Grade, ScoreItem, ScoringPool, extract_choice, graded_text, last_boxed_answer
from curiosft.scoring.math import grade_math

CHOICES = ["3835", "3744", "3735", "2735"]


@pytest.fixture(scope="module")
def pool():
    with ScoringPool(workers=2, timeout_s=2.0) as p:
        yield p


@pytest.mark.parametrize(
    ("response", "ground_truth", "correct"),
    [
        ("So the answer is \\boxed{1017}.", "1017", True),
        ("\\boxed{\\frac{1}{2}}", "0.5", True),
        ("\\boxed{0.5}", "\\frac12", True),
        ("\\boxed{1,000}", "1000", True),
        ("the result is $\\boxed{x = 3}$", "3", True),
        ("\\boxed{\\sqrt{2}/2}", "\\frac{\\sqrt{2}}{2}", True),
        ("\\boxed{(1, 2]}", "(1,2]", True),
        ("\\boxed{2\\pi}", "2 \\pi", True),
        ("first \\boxed{7} then corrected: \\boxed{8}", "8", True),
        ("first \\boxed{8} then corrected: \\boxed{7}", "8", False),
        ("\\boxed{1018}", "1017", False),
        ("\\boxed{\\frac{1}{3}}", "0.33", False),
        ("I do not know.", "1017", False),
        ("", "1017", False),
    ],
)
def test_math_grading(response, ground_truth, correct):
    score, _, reason = grade_math(response, ground_truth)
    assert score == float(correct), reason


def test_last_boxed_answer_handles_nesting_and_unclosed():
    assert last_boxed_answer("a \\boxed{\\frac{1}{2}} b") == "\\frac{1}{2}"
    assert last_boxed_answer("\\boxed{1} and \\fbox{2}") == "2"
    assert last_boxed_answer("\\boxed{unclosed") is None
    assert last_boxed_answer("nothing") is None


@pytest.mark.parametrize(
    ("response", "letter"),
    [
        ("\\boxed{C}", "C"),
        ("\\boxed{(C)}", "C"),
        ("\\boxed{\\text{C}}", "C"),
        ("\\boxed{c}", "C"),
        ("\\boxed{C) 3735}", "C"),
        ("so \\boxed{3735}", "C"),
        ("The answer is (B).", "B"),
        ("The answer is B", "B"),
        ("the correct answer is **D**", "D"),
        ("Answer: A", "A"),
        ("Final answer: (C)", "C"),
        ("The correct option is C.", "C"),
        ("My choice: D", "D"),
        ("(A) is tempting but wrong. The answer is 3735.", "C"),
        ("Let me compare (A) and (B). I pick\n(D)", "D"),
        ("... therefore B", "B"),
        ("I am not sure.", None),
        ("\\boxed{Apples}", None),
        ("\\boxed{E}", None),  # not one of the four options
        ("", None),
    ],
)
def test_choice_extraction(response, letter):
    assert extract_choice(response, CHOICES) == letter


def test_choice_extraction_takes_the_last_statement():
    assert extract_choice("The answer is A. Wait, re-checking: the answer is C.", CHOICES) == "C"


def test_rl_format_grades_only_after_think():
    assert graded_text("<think>\\boxed{1}</think> \\boxed{2}", "rl") == " \\boxed{2}"
    assert graded_text("no think tag \\boxed{2}", "rl") is None
    with pytest.raises(ValueError, match="unknown scoring format 'exam'"):
        graded_text("x", "exam")


def test_pool_scores_in_order_with_reasons(pool):
    items = [
        ScoreItem("\\boxed{1017}", "1017"),
        ScoreItem("\\boxed{\\frac{1}{2}}", "0.5"),
        ScoreItem("\\boxed{1018}", "1017"),
        ScoreItem("no answer", "1017"),
        ScoreItem("\\boxed{C}", "C", "multiple_choice", CHOICES),
        ScoreItem("the answer is (A)", "C", "multiple_choice", CHOICES),
    ]
    grades = pool.score(items)
    assert [g.score for g in grades] == [1.0, 1.0, 0.0, 0.0, 1.0, 0.0]
    assert grades[0] == Grade(1.0, "1017", "boxed match")
    assert grades[1].reason == "equal value"
    assert grades[3].reason == "no final answer"
    assert grades[5].extracted == "A"


def test_pool_rl_format(pool):
    grades = pool.score([ScoreItem("<think>\\boxed{7}</think>\\boxed{8}", "8"),
                         ScoreItem("<think>\\boxed{8}</think>\\boxed{7}", "8"),
                         ScoreItem("\\boxed{8}", "8")], fmt="rl")
    assert [g.score for g in grades] == [1.0, 0.0, 0.0]
    assert "</think>" in grades[2].reason


PATHOLOGICAL = [
    "\\boxed{" + "(" * 5000 + "}",
    "\\boxed{9^{9^{9^{9^{9^{9}}}}}}",
    "\\boxed{2^{2^{2^{2^{2^{100000}}}}}}",
    "\\boxed{" + "+".join(["x"] * 20000) + "}",
    "\\boxed{" + "\\frac{1}{" * 400 + "2" + "}" * 400 + "}",
]


@pytest.mark.timeout(120)
def test_pathological_inputs_finish_within_the_timeout(pool):
    """Every item is answered; a hung grader costs at most the timeout, and the pool keeps working."""
    items = [ScoreItem(text, "1") for text in PATHOLOGICAL]
    started = time.perf_counter()
    grades = pool.score(items)
    elapsed = time.perf_counter() - started
    assert all(g.score == 0.0 for g in grades)
    # two workers: at worst every item times out, two at a time (+ worker restarts)
    assert elapsed < len(items) / 2 * pool.timeout_s + 2 * len(items) + 5, elapsed
    # the pool survived: normal items still score
    after = pool.score([ScoreItem("\\boxed{\\frac{1}{2}}", "0.5"), ScoreItem("\\boxed{3}", "3")])
    assert [g.score for g in after] == [1.0, 1.0]


def test_a_hung_item_scores_zero_with_a_timeout_reason():
    with ScoringPool(workers=1, timeout_s=0.5) as pool:
        # sympy evaluates the power tower without end: only the pool's hard timeout stops it
        grades = pool.score([ScoreItem("\\boxed{9^{9^{9^{9^{9^{9}}}}}}", "1"), ScoreItem("\\boxed{\\frac12}", "0.5")])
    assert grades[0].score == 0.0 and grades[0].reason.startswith("timeout after 0.5 s")
    assert grades[1].score == 1.0


def test_bad_items_and_pools_are_rejected():
    with pytest.raises(ValueError, match="unknown answer kind 'essay'"):
        ScoreItem("x", "y", kind="essay")
    with pytest.raises(ValueError, match="needs its option texts"):
        ScoreItem("x", "A", kind="multiple_choice")
    with pytest.raises(ValueError, match="workers=0"):
        ScoringPool(workers=0)


# inputs for the parts that run in the parent process, without the pool's timeout: the final-answer and
# choice extraction regexes must stay linear (a quadratic one would take hours on these)
PARENT_PATHOLOGICAL = [
    "\\boxed{1}" + " " * 200_000 + "\\boxed{2}",
    "\\boxed{1}" + ", " * 100_000 + "and",
    "the answer is " * 20_000,
    "Answer: " + "A or " * 40_000 + "B",
    "$" * 100_000,
    "(" * 100_000 + "\\boxed{" * 5_000,
    ("The answer is not 3, it is " * 5_000) + "4.",
    "**Answer:**" + "\n" * 100_000,
    "answer" + " " * 100_000 + "x",
    "\n" * 100_000 + "x",
    "1" * 100_000 + "x",
    "\\boxed{0." + "3" * 5_000 + "\\ldots}",
    "Option " + "(" * 100_000,
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("text", PARENT_PATHOLOGICAL, ids=range(len(PARENT_PATHOLOGICAL)))
def test_parent_side_extraction_stays_linear_on_pathological_text(text):
    from curiosft.scoring.math import decide_without_sympy

    started = time.perf_counter()
    decide_without_sympy(text, "4")
    extract_choice(text, CHOICES)
    # generous: each takes well under a second; a quadratic regex would take hours
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize("gold,settled", [
    ("-1./3", "-1/3"), ("np.arcsin(10/13)", "\\arcsin(10/13)"), ("np.sqrt(2)*np.pi", "\\sqrt{2} \\cdot \\pi"),
    ("a+$ $b", "a+ b"), ("\\$36", "\\$36"), ("\\frac{1}{3}", "\\frac{1}{3}"), ("3.5", "3.5"), ("12", "12")])
def test_golds_are_settled_once_as_latex(gold, settled):
    """Issue 33: code-written golds and stray math-mode breaks become the LaTeX a model writes; others stay."""
    from curiosft.scoring.golds import normalize_gold

    assert normalize_gold(gold) == settled


def test_a_thousand_listed_letters_are_read_without_recursion():
    """A 2,000-character list of option letters (a policy's output) once overflowed the list reader's recursion."""
    from curiosft.scoring.choice import extract_choice

    choices = ["1", "2", "3", "4"]
    assert extract_choice("The answer is " + ";".join(["A"] * 1000), choices) == "A"
    assert extract_choice("The answer is " + ";".join(["A"] * 900) + ";B", choices) is None  # a hedge
