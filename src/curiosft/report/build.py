"""Everything in results/paper/ from the per-sample records and the training metrics: `curiosft report`.

tables/   in_distribution, out_of_distribution, post_rl, pass_at_k (.csv .md .tex), benchmark_metrics.csv
figures/  training_entropy, eval_entropy, pass_at_k, rl_curves (once RL ran) (.png .pdf)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from curiosft.evaluation.benchmarks import benchmark_order, get_benchmark
from curiosft.evaluation.metrics import per_benchmark, split_averages
from curiosft.evaluation.records import read_records
from curiosft.io import atomic_path
from curiosft.report import figures
from curiosft.report.tables import Table, accuracy_table, metric_table, write_table
from curiosft.report.training import read_training_metrics

PRE_RL = ["base", "sft"]
RUN_INDEX = ["stage", "method", "schedule", "seed"]


def post_rl_table(bench: pd.DataFrame) -> Table:
    """After GRPO: in-distribution benchmarks, both split averages, and the RL gain over each run's SFT checkpoint."""
    rl = bench[bench["stage"] == "rl"]
    if rl.empty:
        return metric_table("post_rl", "After RL (GRPO), avg@n (%)", rl, {"ID avg": "ID avg"}, delta_of="ID avg",
                            empty_note="no RL results yet: the rl rules of the workflow fill this table")
    averages = split_averages(bench).set_index(RUN_INDEX)
    id_names = benchmark_order(rl.loc[rl["split"] == "id", "benchmark"].unique())
    wide = rl[rl["split"] == "id"].pivot_table(index=RUN_INDEX, columns="benchmark", values="avg")
    wide = wide.join(averages.loc[averages.index.get_level_values("stage") == "rl", ["ID avg", "OOD avg"]
                                  if "OOD avg" in averages else ["ID avg"]])
    sft = averages.xs("sft", level="stage", drop_level=False) if "sft" in set(bench["stage"]) else None
    if sft is not None:
        before = sft["ID avg"].droplevel("stage")
        wide["RL gain"] = wide["ID avg"].to_numpy() - before.reindex(wide.index.droplevel("stage")).to_numpy()
    columns = {n: get_benchmark(n).label for n in id_names}
    columns |= {c: c for c in ("ID avg", "OOD avg", "RL gain") if c in wide}
    return metric_table("post_rl", "After RL (GRPO), avg@n (%); RL gain: ID avg minus the run's SFT checkpoint",
                        wide.reset_index(), columns, delta_of="ID avg", signed=("RL gain",))


def pass_at_k_table(bench: pd.DataFrame) -> Table:
    """pass@k over the in-distribution benchmarks (mean over benchmarks per checkpoint)."""
    part = bench[bench["stage"].isin(PRE_RL) & (bench["split"] == "id")]
    pass_cols = sorted((c for c in part.columns if c.startswith("pass@") and part[c].notna().any()),
                       key=lambda c: int(c[5:]))
    per_run = part.groupby(RUN_INDEX, as_index=False)[pass_cols].mean()
    return metric_table("pass_at_k", "pass@k (%), mean over in-distribution benchmarks", per_run,
                        {c: c for c in pass_cols}, delta_of=pass_cols[-1] if pass_cols else None)


def build_tables(bench: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    out_dir = Path(out_dir)
    tables = [
        accuracy_table("in_distribution", "In-distribution math, avg@n (%)", bench, PRE_RL, "id"),
        accuracy_table("out_of_distribution", "Out-of-distribution multiple choice, avg@n (%)", bench, PRE_RL, "ood"),
        post_rl_table(bench),
        pass_at_k_table(bench),
    ]
    written = [path for table in tables for path in write_table(table, out_dir)]
    path = out_dir / "benchmark_metrics.csv"
    with atomic_path(path) as tmp:
        bench.to_csv(tmp, index=False, float_format="%.4f")
    return [*written, path]


def build_figures(bench: pd.DataFrame, train: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    written = []
    sft_train = train[train["stage"] == "sft"] if not train.empty else train
    if not sft_train.empty:
        fig = figures.training_curves(sft_train, {"train/entropy": "student token entropy (nats)",
                                                  "train/nll": "NLL of the demonstrations"},
                                      "SFT training: student token entropy and NLL (mean ± std over seeds)")
        written += figures.save_figure(fig, out_dir, "training_entropy")
    pre_rl = bench[bench["stage"].isin(PRE_RL)]
    if not pre_rl.empty:
        written += figures.save_figure(figures.eval_entropy(pre_rl), out_dir, "eval_entropy")
        written += figures.save_figure(figures.pass_at_k_curves(pre_rl), out_dir, "pass_at_k")
    rl_train = train[train["stage"] == "rl"] if not train.empty else train
    if not rl_train.empty:
        present = {c: a for c, a in {"train/reward": "mean reward", "train/entropy": "response token entropy (nats)"}
                   .items() if c in rl_train}
        fig = figures.training_curves(rl_train, present, "RL (GRPO) training: reward and entropy (mean ± std over seeds)")
        written += figures.save_figure(fig, out_dir, "rl_curves")
    return written


def build_report(*, records: Iterable[str | os.PathLike], training_metrics: Iterable[str | os.PathLike] = (),
                 out: str | os.PathLike, what: str = "all") -> list[Path]:
    bench = per_benchmark(read_records(records))
    written = []
    if what in ("tables", "all"):
        written += build_tables(bench, Path(out) / "tables")
    if what in ("figures", "all"):
        training_metrics = list(training_metrics)
        train = read_training_metrics(training_metrics) if training_metrics else pd.DataFrame()
        written += build_figures(bench, train, Path(out) / "figures")
    return written
