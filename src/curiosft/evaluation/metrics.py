"""Metrics from per-sample records: avg@n, unbiased pass@k, maj@n, response entropy and length; seeds aggregated.

Aggregation order (honest seeds): each seed's checkpoint gets its own number per benchmark (mean over
prompts of the per-prompt metric), split averages are means over that seed's benchmarks, and only
then are seeds summarised as mean and sample standard deviation (ddof 1; NaN with a single seed).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

RUN_KEYS = ["stage", "method", "schedule", "seed"]
GROUP_KEYS = ["stage", "method", "schedule"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k = 1 - C(n-c, k) / C(n, k) for n samples of which c are correct (Chen et al., 2021)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n; got n={n}, c={c}, k={k}")
    return float(pass_at_k_array(np.array([n]), np.array([c]), k)[0])


def pass_at_k_array(n: np.ndarray, c: np.ndarray, k: int) -> np.ndarray:
    """pass_at_k over arrays of (n, c); NaN where k > n.

    Chen et al.'s exact product form, C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k/i), summed in logs as a
    suffix sum over i, so every prompt with the same n costs one lookup (1.0 where n - c < k).
    """
    n, c = np.asarray(n, dtype=np.int64), np.asarray(c, dtype=np.int64)
    out = np.full(n.shape, np.nan)
    for n_value in np.unique(n):
        if k > n_value:
            continue
        rows = n == n_value
        # logs[j] = log(1 - k/i) for i = k+1+j; suffix[j] = sum of logs[j:] (suffix[n-k] = 0: the empty product)
        logs = np.log1p(-k / np.arange(k + 1, n_value + 1))
        suffix = np.append(np.cumsum(logs[::-1])[::-1], 0.0)
        start = n_value - c[rows] - k
        out[rows] = np.where(start < 0, 1.0, 1.0 - np.exp(suffix[np.clip(start, 0, None)]))
    return out


def k_values(n: int) -> list[int]:
    """1, 2, 4, ... up to n (and n itself)."""
    ks = [2**i for i in range(int(math.log2(n)) + 1)] if n >= 1 else []
    return sorted({*ks, n}) if n >= 1 else []


CHECKPOINT_KEYS = ["checkpoint", *RUN_KEYS, "step"]


def majority_correct(records: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """maj@n per prompt (`keys` name a prompt), in the order of `records.groupby(keys, sort=False, dropna=False)`:
    1.0 when the answer given most often among its samples is correct, else 0.0 (self-consistency, Wang et
    al., 2023). Answers are counted by the grader's equivalence (the records' `answer_class`,
    ScoringPool.answer_classes: `\\dfrac{1}{2}`, `0.5` and `1/2` are one answer); records from before it
    was recorded vote by extracted text. Samples with no answer do not vote; ties go to the answer sampled
    first; a prompt with no answer at all scores 0. (Prompts are numbered first: a key may be NaN, e.g. the
    base model's step.)"""
    prompt = records.groupby(keys, sort=False, observed=True, dropna=False).ngroup().to_numpy()
    vote = records["extracted"].astype(object)
    if "answer_class" in records:
        classes = records["answer_class"]
        vote = vote.where(classes.isna() | vote.isna(), "class:" + classes.astype("Int64").astype(str))
    frame = pd.DataFrame({"prompt": prompt, "vote": vote.to_numpy(),
                          "sample": records["sample"].to_numpy(), "score": records["score"].to_numpy()})
    voted = frame.dropna(subset=["vote"])
    votes = voted.groupby(["prompt", "vote"], sort=False).agg(
        votes=("score", "size"), first=("sample", "min"), score=("score", "max")).reset_index()
    votes = votes.sort_values(["votes", "first"], ascending=[False, True], kind="stable")
    winners = votes.drop_duplicates(subset="prompt", keep="first").set_index("prompt")["score"]
    majority = np.zeros(int(prompt.max()) + 1 if len(prompt) else 0)
    majority[winners.index.to_numpy()] = (winners.to_numpy() > 0.5).astype(float)
    return majority


def per_prompt(records: pd.DataFrame) -> pd.DataFrame:
    """One row per (checkpoint, benchmark, prompt): samples n, correct c, mean score/entropy/length, and maj
    (maj@n: the majority answer's correctness) when the records hold the extracted answers."""
    keys = [*CHECKPOINT_KEYS, "benchmark", "split", "prompt_id"]
    if "step" not in records:
        records = records.assign(step=np.nan)
    records = records.assign(correct=(records["score"] > 0.5).astype(np.int64))
    grouped = records.groupby(keys, sort=False, observed=True, dropna=False)
    frame = grouped.agg(n=("score", "size"), score=("score", "mean"), correct=("correct", "sum"),
                        entropy=("mean_entropy", "mean"), length=("response_length", "mean"))
    if "extracted" in records:
        frame["maj"] = majority_correct(records, keys)
    return frame.reset_index()


def per_benchmark(records: pd.DataFrame, prompts: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (checkpoint, benchmark): avg@n (%), pass@k (%) for k = 1, 2, 4, ..., maj@n (%, column `maj`),
    entropy, length, and the checkpoint's step (NaN where not known). `prompts`: per_prompt(records) if
    already computed."""
    prompts = per_prompt(records) if prompts is None else prompts.copy()
    max_n = int(prompts["n"].max())
    for k in k_values(max_n):
        prompts[f"pass@{k}"] = 100 * pass_at_k_array(prompts["n"].to_numpy(), prompts["correct"].to_numpy(), k)
    keys = [*CHECKPOINT_KEYS, "benchmark", "split"]
    pass_cols = [c for c in prompts.columns if c.startswith("pass@")]
    extra = {"maj": ("maj", "mean")} if "maj" in prompts else {}
    frame = prompts.groupby(keys, sort=False, observed=True, dropna=False).agg(
        prompts=("prompt_id", "size"), n_samples=("n", "max"), avg=("score", "mean"),
        entropy=("entropy", "mean"), length=("length", "mean"), **{c: (c, "mean") for c in pass_cols}, **extra,
    ).reset_index()
    frame["avg"] *= 100
    if "maj" in frame:
        frame["maj"] *= 100
    return frame


def split_averages(bench: pd.DataFrame, value: str = "avg") -> pd.DataFrame:
    """Per checkpoint: the mean of `value` over its in-distribution and over its out-of-distribution benchmarks."""
    averages = bench.pivot_table(index=["checkpoint", *RUN_KEYS], columns="split", values=value, aggfunc="mean")
    return averages.rename(columns={"id": "ID avg", "ood": "OOD avg"}).reset_index()


def over_seeds(frame: pd.DataFrame, values: list[str], by: list[str] | None = None) -> pd.DataFrame:
    """Mean, std (ddof 1) and seed count of `values` per method (stage, method, schedule [+ by])."""
    keys = [*GROUP_KEYS, *(by or [])]
    grouped = frame.groupby(keys, sort=False, observed=True)[values]
    mean, std = grouped.mean(), grouped.std(ddof=1)
    seeds = frame.groupby(keys, sort=False, observed=True)["seed"].nunique().rename("seeds")
    out = mean.add_suffix(" mean").join(std.add_suffix(" std")).join(seeds)
    return out.reset_index()
