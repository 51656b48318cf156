"""Confidence intervals and paired tests over prompts and seeds (docs/evaluation.md "Statistics").

The unit of evidence is a (seed, prompt) cell: its score is the prompt's mean over samples (avg@n for one
prompt, in %). A cell of a table (one method, one benchmark or a split's average) is the mean over its
benchmarks of the mean over seeds and prompts. Both sources of noise a reviewer asks about are resampled:

- **95% confidence interval** (`bootstrap_ci`): a two-level percentile bootstrap, seeds drawn with
  replacement, and within each benchmark its prompts drawn with replacement (Efron & Tibshirani, 1993,
  ch. 13; the hierarchical bootstrap of Saravanan et al., 2020, "Application of the hierarchical bootstrap
  to multi-level data in neuroscience"). With one seed it is the ordinary percentile bootstrap over prompts
  (scipy.stats.bootstrap(method="percentile") gives the same interval: tests/test_statistics.py).
- **Paired test against SFT** (`paired_test`): the differences method - SFT on the same prompts and the same
  seeds (the training seed pairs the runs: same data order and initialisation), resampled in the same two
  levels; the effect is their mean, the interval the bootstrap percentiles, the p-value two-sided from the
  null-centred bootstrap distribution, p = (1 + #{|d* - d| >= |d|}) / (B + 1) (Efron & Tibshirani, ch. 16).
  Resampling seeds, not only prompts, keeps a lucky seed from passing for an effect: a prompt-level
  sign-flip test would not.

Resamples use numpy's PCG64 from a fixed seed: the tables are the same on every rebuild.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

RESAMPLES = 4000
LEVEL = 0.95
SEED = 0
# resamples drawn at once (memory: chunk x prompts counts)
_CHUNK = 500


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap confidence interval (same units as the scores, e.g. %)."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class PairedTest:
    """Method minus reference on the same (seed, prompt) cells: the effect, its interval and p-value."""

    effect: Interval
    p_value: float
    seeds: int
    prompts: int


def bootstrap_statistic(matrices: list[np.ndarray], resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """The bootstrap distribution (shape [resamples]) of mean_b(mean over seeds and prompts of matrices[b]).

    `matrices`: one [seeds, prompts_b] array per benchmark, the same seeds (rows) in each. Each resample draws
    the seeds once (shared by the benchmarks: a seed is one training run) and each benchmark's prompts.
    """
    if not matrices:
        raise ValueError("bootstrap_statistic needs at least one [seeds, prompts] matrix")
    seeds = matrices[0].shape[0]
    if any(m.ndim != 2 or m.shape[0] != seeds or m.shape[1] == 0 for m in matrices):
        raise ValueError(f"every matrix must be [seeds={seeds}, prompts>=1]; got {[m.shape for m in matrices]}")
    rng = np.random.default_rng(seed)
    seed_counts = rng.multinomial(seeds, np.full(seeds, 1 / seeds), size=resamples)  # [B, S]
    total = np.zeros(resamples)
    for matrix in matrices:
        prompts = matrix.shape[1]
        for start in range(0, resamples, _CHUNK):
            stop = min(start + _CHUNK, resamples)
            prompt_counts = rng.multinomial(prompts, np.full(prompts, 1 / prompts), size=stop - start)  # [b, P]
            per_seed = prompt_counts @ matrix.T  # [b, S]: each seed's resampled prompt sum
            total[start:stop] += (per_seed * seed_counts[start:stop]).sum(axis=1) / (seeds * prompts)
    return total / len(matrices)


def point_estimate(matrices: list[np.ndarray]) -> float:
    return float(np.mean([m.mean() for m in matrices]))


def bootstrap_ci(matrices: list[np.ndarray], level: float = LEVEL, resamples: int = RESAMPLES,
                 seed: int = SEED) -> Interval:
    """The estimate and its two-level percentile bootstrap interval at `level` (see the module docstring)."""
    dist = bootstrap_statistic(matrices, resamples, seed)
    alpha = 1 - level
    low, high = np.quantile(dist, [alpha / 2, 1 - alpha / 2])
    return Interval(point_estimate(matrices), float(low), float(high))


def paired_test(method: list[np.ndarray], reference: list[np.ndarray], level: float = LEVEL,
                resamples: int = RESAMPLES, seed: int = SEED) -> PairedTest:
    """Method minus reference over the same cells (matrices aligned seed by seed and prompt by prompt)."""
    if len(method) != len(reference) or any(a.shape != b.shape for a, b in zip(method, reference)):
        raise ValueError("paired_test needs the same benchmarks, seeds and prompts on both sides; got "
                         f"{[a.shape for a in method]} vs {[b.shape for b in reference]}")
    diffs = [a - b for a, b in zip(method, reference)]
    effect = point_estimate(diffs)
    dist = bootstrap_statistic(diffs, resamples, seed)
    alpha = 1 - level
    low, high = np.quantile(dist, [alpha / 2, 1 - alpha / 2])
    extreme = np.count_nonzero(np.abs(dist - effect) >= abs(effect) - 1e-12)
    return PairedTest(Interval(effect, float(low), float(high)), (1 + extreme) / (resamples + 1),
                      seeds=diffs[0].shape[0], prompts=sum(d.shape[1] for d in diffs))


def score_matrices(prompts: pd.DataFrame, benchmarks: list[str], seeds: list[int] | None = None,
                   value: str = "score") -> tuple[list[np.ndarray], list[int]]:
    """One run group's per-prompt rows (curiosft.evaluation.metrics.per_prompt, one stage/method/schedule)
    -> per benchmark a [seeds, prompts] matrix of `value` in % (the prompts every seed has), and the seeds
    (rows, sorted; only `seeds` when given)."""
    have = sorted(set(prompts["seed"]))
    rows = [s for s in have if seeds is None or s in seeds]
    matrices = []
    for benchmark in benchmarks:
        part = prompts[prompts["benchmark"] == benchmark]
        wide = part.pivot_table(index="seed", columns="prompt_id", values=value, aggfunc="mean").reindex(rows)
        matrices.append(100 * wide.dropna(axis=1).to_numpy(dtype=float))
    return matrices, rows


def paired_matrices(method: pd.DataFrame, reference: pd.DataFrame, benchmarks: list[str],
                    value: str = "score") -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """Per benchmark, [seeds, prompts] matrices (%) of both sides on the same cells: the seeds both have and,
    per benchmark, the prompts every one of those seeds has on both sides."""
    seeds = sorted(set(method["seed"]) & set(reference["seed"]))
    ours, theirs = [], []
    for benchmark in benchmarks:
        wide = [side[side["benchmark"] == benchmark].pivot_table(index="seed", columns="prompt_id", values=value,
                                                                   aggfunc="mean").reindex(seeds)
                for side in (method, reference)]
        keep = wide[0].columns.intersection(wide[1].columns)
        keep = [c for c in keep if wide[0][c].notna().all() and wide[1][c].notna().all()]
        ours.append(100 * wide[0][keep].to_numpy(dtype=float))
        theirs.append(100 * wide[1][keep].to_numpy(dtype=float))
    return ours, theirs, seeds
