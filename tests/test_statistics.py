"""curiosft.report.statistics against scipy and against the exact bootstrap distribution (brute force)."""

import itertools

import numpy as np
import pytest
from scipy import stats

from curiosft.report.statistics import bootstrap_ci, bootstrap_statistic, paired_test


def test_one_seed_interval_is_scipys_percentile_bootstrap():
    rng = np.random.default_rng(7)
    scores = 100 * rng.binomial(4, 0.6, size=300) / 4
    ours = bootstrap_ci([scores[None, :]], resamples=20000)
    ref = stats.bootstrap((scores,), np.mean, n_resamples=20000, method="percentile", confidence_level=0.95,
                          random_state=3).confidence_interval
    assert ours.estimate == pytest.approx(scores.mean())
    # two Monte Carlo estimates of the same percentiles: within a small fraction of the interval's width
    width = ref.high - ref.low
    assert abs(ours.low - ref.low) < 0.05 * width and abs(ours.high - ref.high) < 0.05 * width


def _exact_distribution(matrices):
    """Every equally likely resample of seeds and of each benchmark's prompts, enumerated."""
    seeds = matrices[0].shape[0]
    values = []
    for seed_pick in itertools.product(range(seeds), repeat=seeds):
        for prompt_picks in itertools.product(*[itertools.product(range(m.shape[1]), repeat=m.shape[1])
                                                for m in matrices]):
            values.append(np.mean([m[np.ix_(seed_pick, pick)].mean() for m, pick in zip(matrices, prompt_picks)]))
    return np.array(values)


def test_two_level_bootstrap_matches_the_exact_resampling_distribution():
    matrices = [np.array([[100.0, 0.0, 50.0], [75.0, 25.0, 100.0]]), np.array([[0.0, 100.0], [50.0, 50.0]])]
    exact = _exact_distribution(matrices)  # 2^2 seed draws x 3^3 x 2^2 prompt draws
    mc = bootstrap_statistic(matrices, resamples=200_000, seed=1)
    assert mc.mean() == pytest.approx(exact.mean(), abs=0.1)
    assert mc.std() == pytest.approx(exact.std(), rel=0.02)
    for q in (0.025, 0.25, 0.5, 0.75, 0.975):
        assert np.quantile(mc, q) == pytest.approx(np.quantile(exact, q), abs=2.0)


def test_paired_test_p_value_matches_the_exact_null_centred_bootstrap():
    a = np.array([[100.0, 100.0, 75.0, 50.0, 100.0]])
    b = np.array([[50.0, 75.0, 75.0, 25.0, 50.0]])
    diff = a - b
    exact = _exact_distribution([diff])
    effect = diff.mean()
    p_exact = np.mean(np.abs(exact - effect) >= abs(effect) - 1e-12)
    result = paired_test([a], [b], resamples=100_000, seed=2)
    assert result.effect.estimate == pytest.approx(effect)
    assert result.p_value == pytest.approx(p_exact, abs=0.005)
    assert result.effect.low <= effect <= result.effect.high and (result.seeds, result.prompts) == (1, 5)


def test_a_lucky_seed_is_not_an_effect():
    """Every prompt of seed 1 better, seed 2 worse: prompt-level pairing would call it significant."""
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 100, size=(2, 400))
    shifted = base + np.array([[10.0], [-8.0]])
    result = paired_test([shifted], [base], seed=3)
    assert result.p_value > 0.05
    clear = paired_test([base + 6.0], [base], seed=3)
    assert clear.p_value < 0.001 and clear.effect.low > 5.9


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="same benchmarks, seeds and prompts"):
        paired_test([np.zeros((2, 3))], [np.zeros((2, 4))])
    with pytest.raises(ValueError, match="seeds=2"):
        bootstrap_statistic([np.zeros((2, 3)), np.zeros((1, 3))])
