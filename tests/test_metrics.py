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
