"""Metrics from records: pass@k against brute force, avg@n, split averages, seed aggregation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from curiosft.evaluation.metrics import (
    k_values,
    over_seeds,
    pass_at_k,
    pass_at_k_array,
    per_benchmark,
    per_prompt,
    split_averages,
)


def brute_force_pass_at_k(outcomes: list[bool], k: int) -> float:
    """Fraction of all k-subsets of the n samples that contain a correct one."""
    subsets = list(itertools.combinations(outcomes, k))
    return sum(any(s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_pass_at_k_equals_brute_force_enumeration(n):
    for c in range(n + 1):
        outcomes = [True] * c + [False] * (n - c)
        for k in range(1, n + 1):
            expected = brute_force_pass_at_k(outcomes, k)
            assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)
            assert pass_at_k_array(np.array([n]), np.array([c]), k)[0] == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_is_stable_for_large_n():
    assert pass_at_k(1024, 0, 512) == 0.0
    assert pass_at_k(1024, 1024, 1) == 1.0
    assert pass_at_k(1024, 1, 1) == pytest.approx(1 / 1024)
    assert pass_at_k_array(np.array([1024]), np.array([3]), 256)[0] == pytest.approx(
        1 - math.comb(1021, 256) / math.comb(1024, 256))


def test_pass_at_k_rejects_impossible_counts():
    with pytest.raises(ValueError, match="n=4, c=5"):
        pass_at_k(4, 5, 1)
    assert math.isnan(pass_at_k_array(np.array([2]), np.array([1]), 4)[0])


def test_k_values():
    assert k_values(1) == [1]
    assert k_values(8) == [1, 2, 4, 8]
    assert k_values(6) == [1, 2, 4, 6]


def records(rows):
    """rows: (method, seed, benchmark, split, prompt, sample, score)."""
    frame = pd.DataFrame(rows, columns=["method", "seed", "benchmark", "split", "prompt_id", "sample", "score"])
    frame["stage"], frame["schedule"] = "sft", "none"
    frame["checkpoint"] = "sft/method~" + frame["method"] + "/schedule~none/seed~" + frame["seed"].astype(str)
    frame["mean_entropy"], frame["response_length"] = 0.5, 10
    return frame


def test_avg_and_pass_at_k_per_benchmark():
    # prompt 0: 1 of 2 correct; prompt 1: 0 of 2
    frame = records([("sft", 1, "tiny_id", "id", p, s, float(p == 0 and s == 0)) for p in (0, 1) for s in (0, 1)])
    bench = per_benchmark(frame)
    assert len(bench) == 1
    row = bench.iloc[0]
    assert row["avg"] == pytest.approx(25.0)
    assert row["pass@1"] == pytest.approx(25.0)
    assert row["pass@2"] == pytest.approx(50.0)
    assert row["prompts"] == 2 and row["n_samples"] == 2


def test_seed_aggregation_is_per_seed_then_mean_and_sample_std():
    rows = []
    for seed, accuracy in ((1, 0.5), (2, 1.0)):
        for p in range(4):
            rows.append(("psft", seed, "tiny_id", "id", p, 0, float(p < 4 * accuracy)))
            rows.append(("psft", seed, "tiny_mc", "ood", p, 0, 1.0))
    bench = per_benchmark(records(rows))
    averages = split_averages(bench)
    assert sorted(averages["ID avg"]) == [50.0, 100.0]
    assert list(averages["OOD avg"]) == [100.0, 100.0]
    stats = over_seeds(averages, ["ID avg"])
    assert stats.loc[0, "ID avg mean"] == 75.0
    assert stats.loc[0, "ID avg std"] == pytest.approx(np.std([50.0, 100.0], ddof=1))
    assert stats.loc[0, "seeds"] == 2


def test_maj_at_n_is_the_majority_answers_correctness():
    """Per prompt: the most frequent extracted answer wins; ties go to the answer sampled first; samples
    without an answer do not vote; a prompt with no answer at all is wrong."""
    rows = [  # prompt, sample, extracted, score
        (0, 0, "5", 0.0), (0, 1, "7", 1.0), (0, 2, "7", 1.0), (0, 3, "5", 0.0), (0, 4, "7", 1.0),  # 7 wins
        (1, 0, "3", 0.0), (1, 1, "4", 1.0), (1, 2, "4", 1.0), (1, 3, "3", 0.0),  # tie: 3 sampled first
        (2, 0, None, 0.0), (2, 1, None, 0.0), (2, 2, "9", 1.0),  # no-answers do not vote: 9
        (3, 0, None, 0.0), (3, 1, None, 0.0),  # no answer at all
    ]
    frame = records([("sft", 1, "tiny_id", "id", p, s, score) for p, s, _, score in rows])
    frame["extracted"] = [e for _, _, e, _ in rows]
    prompts = per_prompt(frame).sort_values("prompt_id")
    assert prompts["maj"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert per_benchmark(frame)["maj"].iloc[0] == pytest.approx(50.0)


def test_maj_at_n_against_brute_force_on_random_votes():
    rng = np.random.default_rng(4)
    rows, expected = [], []
    for prompt in range(200):
        answers = rng.choice(["a", "b", "c", None], size=int(rng.integers(1, 9)), p=[0.4, 0.3, 0.2, 0.1])
        truth = "a"
        for sample, answer in enumerate(answers):
            rows.append((prompt, sample, answer, float(answer == truth)))
        voted = [a for a in answers if a is not None]
        if not voted:
            expected.append(0.0)
            continue
        counts = {a: voted.count(a) for a in voted}
        top = max(counts.values())
        winner = next(a for a in voted if counts[a] == top)  # first sampled among the most frequent
        expected.append(float(winner == truth))
    frame = records([("sft", 1, "tiny_id", "id", p, s, score) for p, s, _, score in rows])
    frame["extracted"] = [e for _, _, e, _ in rows]
    assert per_prompt(frame).sort_values("prompt_id")["maj"].tolist() == expected


# values -> how models write them; the grader finds the renderings of one value equal and of two unequal
RENDERINGS = {
    "1/2": ["\\dfrac{1}{2}", "0.5", "1/2", "\\frac12", "\\frac{1}{2}"],
    "3": ["3", "3.0", "3.00", "+3"],
    "2/3": ["\\frac{2}{3}", "2/3", "\\tfrac{2}{3}"],
    "-1": ["-1", "-1.0", "- 1"],
}


def test_maj_at_n_votes_by_the_graders_equivalence_against_brute_force():
    """Issue 26: maj@n voted on answer strings, so `\\dfrac{1}{2}`, `0.5` and `1/2` split the correct majority
    and a repeated wrong answer won. Now the evaluation's classes (ScoringPool.answer_classes, the grader's
    own equivalence) decide; checked against a vote on the true values, with random renderings."""
    from curiosft.scoring import ScoreItem, ScoringPool

    rng = np.random.default_rng(26)
    values = list(RENDERINGS)
    rows, expected = [], []
    for prompt in range(60):
        gold = values[int(rng.integers(len(values)))]
        drawn = [values[int(v)] if v < len(values) else None
                 for v in rng.integers(0, len(values) + 1, size=int(rng.integers(1, 8)))]
        voted = [v for v in drawn if v is not None]
        counts = {v: voted.count(v) for v in voted}
        winner = next((v for v in voted if counts[v] == max(counts.values())), None)
        expected.append(float(winner == gold))
        for sample, value in enumerate(drawn):
            text = None if value is None else RENDERINGS[value][int(rng.integers(len(RENDERINGS[value])))]
            rows.append((prompt, sample, gold, text))
    with ScoringPool(2) as pool:
        grades = pool.score([ScoreItem("no answer" if t is None else f"\\boxed{{{t}}}", gold) for _, _, gold, t in rows])
        classes = pool.sample_classes(["math"] * len(rows), [p for p, *_ in rows], grades)
    frame = records([("sft", 1, "tiny_id", "id", p, s, g.score) for (p, s, _, _), g in zip(rows, grades)])
    frame["extracted"] = [g.extracted for g in grades]
    by_text = per_prompt(frame).sort_values("prompt_id")["maj"].tolist()
    frame["answer_class"] = pd.array(classes, dtype="Int64")
    by_class = per_prompt(frame).sort_values("prompt_id")["maj"].tolist()
    assert by_class == expected
    assert by_text != expected  # the string vote this replaces gets some of these prompts wrong


def test_answer_classes_join_equal_wrong_answers_and_keep_letters_apart():
    from curiosft.scoring import ScoringPool

    with ScoringPool(1) as pool:
        classes = pool.answer_classes([
            ("math", ["0.25", "\\frac14", None, "7", "1/4", "\\dfrac{1}{4}"], [0, 0, 0, 1, 0, 0]),
            ("multiple_choice", ["B", "C", "B", None], [0, 1, 0, 0]),
        ])
    assert classes == [[0, 0, None, 3, 0, 0], [0, 1, 0, None]]
