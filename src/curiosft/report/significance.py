"""The significance table: every cell's 95% bootstrap interval and each method's paired test against SFT,
per stage (after SFT, after RL), on every benchmark and both split averages (curiosft.report.statistics).

significance.csv   one row per stage x method x column: estimate, ci_low, ci_high, and against SFT the
                   effect, its interval and the p-value
significance.md    per stage: "mean [low, high]" and "Δ [low, high], p" tables; * marks p < 0.05
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from curiosft.benchmarks import benchmark_order, get_benchmark
from curiosft.io import atomic_path
from curiosft.report.labels import REFERENCE_METHOD, run_label, run_sort_key
from curiosft.report.markdown import markdown_table
from curiosft.report.statistics import bootstrap_ci, paired_matrices, paired_test, score_matrices
from curiosft.report.tables import SPLIT_AVERAGES
from curiosft.stages import training_stages

STAGE_TITLES = {"sft": "After SFT", "rl": "After RL (GRPO)"}


def column_benchmarks(prompts: pd.DataFrame) -> dict[str, list[str]]:
    """column -> its benchmarks: each benchmark alone, then each split's average."""
    names = benchmark_order(prompts["benchmark"].unique())
    columns = {name: [name] for name in names}
    for split in SPLIT_AVERAGES:
        members = [n for n in names if get_benchmark(n).split == split]
        if members:
            columns[split] = members
    return columns


def significance(prompts: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """From per-prompt rows (curiosft.evaluation.metrics.per_prompt) of the trained runs: the long table, and
    (stage, method, schedule, column) -> PairedTest for every method with an SFT run of the same stage."""
    rows, tests = [], {}
    columns = column_benchmarks(prompts) if not prompts.empty else {}
    for stage in training_stages():
        part = prompts[prompts["stage"] == stage]
        groups = {key: g for key, g in part.groupby(["method", "schedule"], sort=False)}
        reference = next((g for (m, _), g in groups.items() if m == REFERENCE_METHOD), None)
        for (method, schedule) in sorted(groups, key=lambda k: run_sort_key(*k)):
            group = groups[(method, schedule)]
            for column, benchmarks in columns.items():
                if not set(benchmarks) <= set(group["benchmark"]):
                    continue
                matrices, seeds = score_matrices(group, benchmarks)
                ci = bootstrap_ci(matrices)
                row = {"stage": stage, "method": method, "schedule": schedule, "label": run_label(method, schedule),
                       "column": SPLIT_AVERAGES.get(column) or get_benchmark(column).label, "seeds": len(seeds),
                       "prompts": sum(m.shape[1] for m in matrices), "estimate": ci.estimate, "ci_low": ci.low,
                       "ci_high": ci.high, "effect": math.nan, "effect_low": math.nan, "effect_high": math.nan,
                       "p_value": math.nan, "paired_seeds": 0}
                if reference is not None and method != REFERENCE_METHOD and set(benchmarks) <= set(reference["benchmark"]):
                    ours, theirs, shared = paired_matrices(group, reference, benchmarks)
                    if shared and all(m.shape[1] for m in ours):
                        result = paired_test(ours, theirs)
                        tests[(stage, method, schedule, column)] = result
                        row |= {"effect": result.effect.estimate, "effect_low": result.effect.low,
                                "effect_high": result.effect.high, "p_value": result.p_value,
                                "paired_seeds": result.seeds}
                rows.append(row)
    return pd.DataFrame(rows), tests


def _interval(estimate: float, low: float, high: float, signed: bool = False) -> str:
    f = "{:+.1f}" if signed else "{:.1f}"
    return f"{f.format(estimate)} [{f.format(low)}, {f.format(high)}]"


def to_markdown(frame: pd.DataFrame) -> str:
    lines = ["**Significance: 95% bootstrap intervals over prompts and seeds, and paired tests against SFT**", ""]
    if frame.empty:
        return "\n".join([*lines, "_no trained runs evaluated yet_", ""])
    for stage, part in frame.groupby("stage", sort=False):
        columns = list(dict.fromkeys(part["column"]))
        labels = list(dict.fromkeys(part["label"]))
        cells = part.set_index(["label", "column"])
        align = "l" + "r" * len(columns)
        lines += [f"_{STAGE_TITLES.get(stage, stage)}: avg@n (%), mean [95% CI]_", ""]
        lines += markdown_table(["Method", *columns], [
            [label, *[_interval(*cells.loc[(label, c), ["estimate", "ci_low", "ci_high"]])
                      if (label, c) in cells.index else "–" for c in columns]] for label in labels], align)
        tested = part[part["p_value"].notna()]
        if not tested.empty:
            lines += ["", f"_{STAGE_TITLES.get(stage, stage)}: difference to SFT, Δ [95% CI], p (paired over the same "
                      "prompts and seeds; * p < 0.05)_", ""]
            rows = []
            for label in dict.fromkeys(tested["label"]):
                row = [label]
                for c in columns:
                    if (label, c) not in cells.index or math.isnan(cells.loc[(label, c), "p_value"]):
                        row.append("–")
                        continue
                    r = cells.loc[(label, c)]
                    star = "*" if r["p_value"] < 0.05 else ""
                    row.append(f"{_interval(r['effect'], r['effect_low'], r['effect_high'], signed=True)}, "
                               f"p={r['p_value']:.3f}{star}")
                rows.append(row)
            lines += markdown_table(["Method", *columns], rows, align)
        lines.append("")
    lines += ["Two-level percentile bootstrap (seeds, then prompts within each benchmark; 4000 resamples); the "
              "paired test resamples the differences on the same (seed, prompt) cells and reports the two-sided "
              "null-centred p-value (docs/evaluation.md \"Statistics\").", ""]
    return "\n".join(lines)


def write_significance(frame: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    written = []
    for suffix, text in ((".csv", frame.to_csv(index=False, float_format="%.4f") if not frame.empty else
                          "stage,method,schedule,label,column,estimate,ci_low,ci_high,effect,p_value\n"),
                         (".md", to_markdown(frame))):
        path = Path(out_dir) / f"significance{suffix}"
        with atomic_path(path) as tmp:
            tmp.write_text(text)
        written.append(path)
    return written
