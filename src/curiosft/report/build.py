"""Everything in results/paper/ from the per-sample records and the training metrics: `curiosft report`.

tables/   in_distribution, out_of_distribution, post_rl, pass_at_k (.csv .md .tex), benchmark_metrics.csv
figures/  training_entropy, eval_entropy, pass_at_k, rl_curves (once RL ran) (.png .pdf)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from curiosft.evaluation.metrics import per_benchmark
from curiosft.evaluation.records import read_records
from curiosft.io import atomic_path
from curiosft.report.figures import paper_figures, save_figure
from curiosft.report.tables import paper_tables, write_table
from curiosft.report.training import read_training_metrics


def build_tables(bench: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    out_dir = Path(out_dir)
    written = [path for table in paper_tables(bench) for path in write_table(table, out_dir)]
    path = out_dir / "benchmark_metrics.csv"
    with atomic_path(path) as tmp:
        bench.to_csv(tmp, index=False, float_format="%.4f")
    return [*written, path]


def build_figures(bench: pd.DataFrame, train: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    return [path for name, fig in paper_figures(bench, train).items() for path in save_figure(fig, out_dir, name)]


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
