"""Everything in results/paper/ from the per-sample records and the training metrics: `curiosft report`.

tables/   in_distribution, out_of_distribution, post_rl, pass_at_k (.csv .md .tex .html), benchmark_metrics.csv,
          significance (.csv .md: bootstrap intervals and paired tests against SFT), runs (.csv .md: the
          manifests and their differences), cost (.csv .md)
figures/  training_entropy, eval_entropy, pass_at_k, rl_curves (once RL ran), accuracy_over_training (with
          curve records) (.png .pdf)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from curiosft.evaluation.metrics import per_benchmark, per_prompt
from curiosft.evaluation.records import check_one_grader, check_one_protocol, read_records
from curiosft.io import atomic_path
from curiosft.report.figures import paper_figures, save_figure
from curiosft.report.html import write_html_beside
from curiosft.report.provenance import manifest_files, write_provenance
from curiosft.report.significance import significance, write_significance
from curiosft.report.tables import paper_tables, write_table
from curiosft.report.training import read_training_metrics


def build_tables(bench: pd.DataFrame, out_dir: str | Path, prompts: pd.DataFrame | None = None,
                 selected_by: str | None = None, protocols: dict[str, str] | None = None) -> list[Path]:
    """The paper tables; with per-prompt rows also the significance table and the stars it gives."""
    out_dir = Path(out_dir)
    tests, written = {}, []
    if prompts is not None:
        frame, tests = significance(prompts[prompts["stage"].isin(["sft", "rl"])])
        written += write_significance(frame, out_dir)
    written += [path for table in paper_tables(bench, tests, selected_by, protocols)
                for path in write_table(table, out_dir)]
    path = out_dir / "benchmark_metrics.csv"
    with atomic_path(path) as tmp:
        bench.to_csv(tmp, index=False, float_format="%.4f")
    return [*written, path]


def build_figures(bench: pd.DataFrame, train: pd.DataFrame, out_dir: str | Path,
                  curves: pd.DataFrame | None = None) -> list[Path]:
    return [path for name, fig in paper_figures(bench, train, curves).items()
            for path in save_figure(fig, out_dir, name)]


def build_report(*, records: Iterable[str | os.PathLike], training_metrics: Iterable[str | os.PathLike] = (),
                 out: str | os.PathLike, what: str = "all", curve_records: Iterable[str | os.PathLike] = (),
                 selected_by: str | None = None, warn=None) -> list[Path]:
    """`records`: the evaluation of each run's reported checkpoint; `curve_records`: the evaluation over
    training (eval.curve); `selected_by`: the eval.select=best:<...> the reported checkpoints came from;
    `warn(message)` gets every difference between compared runs beyond the swept keys (provenance)."""
    records, training_metrics, curve_records = list(records), list(training_metrics), list(curve_records)
    frame = read_records(records)
    check_one_grader(frame, "the records of these tables")
    protocols = check_one_protocol(frame, "the records of these tables")
    prompts = per_prompt(frame)
    bench = per_benchmark(None, prompts)
    written = []
    if what in ("tables", "all"):
        written += build_tables(bench, Path(out) / "tables", prompts, selected_by, protocols)
        files, warnings = write_provenance(manifest_files([*records, *curve_records], training_metrics),
                                           Path(out) / "tables")
        written += files
        written += write_html_beside([p for p in written if p.suffix == ".md"])
        for message in warnings:
            (warn or (lambda m: None))(message)
    if what in ("figures", "all"):
        train = read_training_metrics(training_metrics) if training_metrics else pd.DataFrame()
        curves = per_benchmark(read_records(curve_records)) if curve_records else None
        written += build_figures(bench, train, Path(out) / "figures", curves)
    return written
