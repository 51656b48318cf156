"""Tables, figures and the notebook from fixture records (synthetic results in the real on-disk layout)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from curiosft.errors import InputDataError
from curiosft.evaluation.records import FIELDS, RecordsError, read_records, write_records
from curiosft.evaluation.synthetic import synthetic_records, write_synthetic_results
from curiosft.report.build import build_report
from curiosft.report.training import read_training_metrics

REPO = Path(__file__).resolve().parents[1]
TABLES = ["in_distribution", "out_of_distribution", "post_rl", "pass_at_k"]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> tuple[Path, list[Path], list[Path]]:
    root = tmp_path_factory.mktemp("fixture") / "results"
    records, metrics = write_synthetic_results(root, seeds=(1, 2, 3), prompts=12, n=4)
    return root, records, metrics


@pytest.fixture(scope="module")
def report(results, tmp_path_factory) -> Path:
    root, records, metrics = results
    out = tmp_path_factory.mktemp("paper")
    build_report(records=records, training_metrics=metrics, out=out)
    return out


def test_every_table_in_three_formats(report):
    for name in TABLES:
        for ext in ("csv", "md", "tex"):
            assert (report / "tables" / f"{name}.{ext}").stat().st_size > 0
    assert (report / "tables" / "benchmark_metrics.csv").is_file()


def test_in_distribution_table_content(report, results):
    table = pd.read_csv(report / "tables" / "in_distribution.csv")
    assert list(table["label"]) == ["Base model", "SFT", "PSFT", "CurioSFT (entropy-guided)", "CurioSFT (fixed)"]
    assert list(table["seeds"]) == [1, 3, 3, 3, 3]
    # the delta is each row's average minus SFT's
    sft = table.loc[table["method"] == "sft", "Avg mean"].item()
    assert table["Δ SFT"].to_numpy() == pytest.approx((table["Avg mean"] - sft).to_numpy(), abs=1e-3)
    # recompute one cell from the raw records: mean over seeds of per-seed accuracy
    records = read_records(results[1])
    psft = records[(records["method"] == "psft") & (records["benchmark"] == "tiny_id")]
    per_seed = psft.groupby("seed")["score"].mean() * 100
    row = table[table["method"] == "psft"].iloc[0]
    assert row["Tiny-ID mean"] == pytest.approx(per_seed.mean(), abs=1e-3)
    assert row["Tiny-ID std"] == pytest.approx(per_seed.std(ddof=1), abs=1e-3)


def test_markdown_and_latex_mark_the_best_and_the_delta(report):
    table = pd.read_csv(report / "tables" / "in_distribution.csv")
    contenders = table[table["method"] != "base"]
    best = contenders.loc[contenders["Avg mean"].idxmax()]
    md = (report / "tables" / "in_distribution.md").read_text()
    line = next(line for line in md.splitlines() if line.startswith(f"| {best['label']} |"))
    assert f"**{best['Avg mean']:.1f}**" in line
    assert "Δ SFT" in md and " ± " in md
    tex = (report / "tables" / "in_distribution.tex").read_text()
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert rf"\textbf{{{best['Avg mean']:.1f}}}" in tex and r"$\pm$" in tex and r"$\Delta$ SFT" in tex


def test_post_rl_table_waits_for_rl_results(report):
    assert "no RL results yet" in (report / "tables" / "post_rl.md").read_text()
    assert (report / "tables" / "post_rl.csv").read_text().startswith("label,")


def test_post_rl_table_and_curves_once_rl_exists(tmp_path):
    records, metrics = write_synthetic_results(tmp_path / "results", with_rl=True, prompts=8, n=2)
    build_report(records=records, training_metrics=metrics, out=tmp_path / "paper")
    table = pd.read_csv(tmp_path / "paper" / "tables" / "post_rl.csv")
    assert set(table["stage"]) == {"rl"} and "RL gain mean" in table
    assert (tmp_path / "paper" / "figures" / "rl_curves.png").stat().st_size > 10_000


def test_pass_at_k_table_columns(report):
    table = pd.read_csv(report / "tables" / "pass_at_k.csv")
    assert [c for c in table.columns if c.endswith(" mean")] == ["pass@1 mean", "pass@2 mean", "pass@4 mean"]
    assert (table["pass@4 mean"] >= table["pass@1 mean"]).all()


def test_figures_are_written_as_png_and_pdf(report):
    for name in ("training_entropy", "eval_entropy", "pass_at_k"):
        png = report / "figures" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        assert (report / "figures" / f"{name}.pdf").read_bytes()[:4] == b"%PDF"
    assert not (report / "figures" / "rl_curves.png").exists()


def test_missing_record_file_is_named(tmp_path, results):
    missing = tmp_path / "eval" / "sft" / "nope.jsonl"
    with pytest.raises(RecordsError, match=f"record file {missing} does not exist"):
        build_report(records=[*results[1][:2], missing], out=tmp_path / "paper")


def test_tables_refuse_records_of_two_grader_versions(tmp_path):
    """A sweep re-run after a grader upgrade re-evaluates only what it re-runs: a table would compare rows
    graded by two versions. The report stops, naming both and `curiosft regrade`."""
    old, new = tmp_path / "eval" / "base" / "tiny_id.jsonl", tmp_path / "eval" / "base" / "tiny_mc.jsonl"
    write_records(old, (r | {"grader": "curiosft", "grader_version": "2"}
                        for r in synthetic_records("base", "tiny_id", prompts=3, n=2)))
    write_records(new, (r | {"grader": "curiosft", "grader_version": "3"}
                        for r in synthetic_records("base", "tiny_mc", prompts=3, n=2)))
    with pytest.raises(RecordsError, match=r"graded by more than one grader version \(curiosft 2: 6 records .*"
                                           r"curiosft 3: 6 records .*curiosft regrade"):
        build_report(records=[old, new], out=tmp_path / "paper", what="tables")
    build_report(records=[new], out=tmp_path / "paper", what="tables")


@pytest.mark.parametrize("damage", ["truncated", "not json", "wrong type", "missing field", "empty"])
def test_corrupt_record_file_is_named(tmp_path, damage):
    path = tmp_path / "eval" / "base" / "tiny_id.jsonl"
    write_records(path, synthetic_records("base", "tiny_id", prompts=3, n=2))
    lines = path.read_text().splitlines()
    if damage == "truncated":
        path.write_text("\n".join(lines)[:-40])
    elif damage == "not json":
        path.write_text("\n".join([*lines, "<html>oops</html>"]))
    elif damage == "wrong type":
        bad = json.loads(lines[0]) | {"score": "high"}
        path.write_text("\n".join([json.dumps(bad), *lines[1:]]))
    elif damage == "missing field":
        bad = json.loads(lines[0])
        del bad["score"]
        path.write_text("\n".join([json.dumps(bad), *lines[1:]]))
    else:
        path.write_text("")
    with pytest.raises(RecordsError, match=f"{path}"):
        read_records([path])


def test_records_keep_answers_as_text(tmp_path):
    record = next(synthetic_records("base", "tiny_id", prompts=1, n=1)) | {"ground_truth": "3.2e-5", "extracted": "007"}
    write_records(tmp_path / "r.jsonl", [record])
    frame = read_records([tmp_path / "r.jsonl"], columns=FIELDS)
    assert frame.loc[0, "ground_truth"] == "3.2e-5" and frame.loc[0, "extracted"] == "007"


def test_write_records_rejects_unknown_fields(tmp_path):
    record = next(synthetic_records("base", "tiny_id", prompts=1, n=1)) | {"surprise": 1}
    with pytest.raises(ValueError, match="unknown \\['surprise'\\]"):
        write_records(tmp_path / "r.jsonl", [record])
    assert not (tmp_path / "r.jsonl").exists()


def test_training_metrics_reader_names_corrupt_lines(tmp_path, results):
    frame = read_training_metrics(results[2])
    assert {"step", "train/entropy", "method", "seed"} <= set(frame.columns)
    bad = tmp_path / "results" / "sft" / "method~sft" / "schedule~none" / "seed~1" / "metrics.jsonl"
    bad.parent.mkdir(parents=True)
    run = '"run": {"stage": "sft", "method": "sft", "schedule": "none", "seed": 1}'
    bad.write_text('{"data": {}, ' + run + ', "step": 1}\n{"data": \n')
    with pytest.raises(RecordsError, match="line 2"):
        read_training_metrics([bad])
    # a line without its run (the layout before runs carried their identity) says how to fix it
    bad.write_text('{"data": {}, "step": 1}\n')
    with pytest.raises(RecordsError, match="line 1, has no 'run' field.*re-run its training job"):
        read_training_metrics([bad])


def test_a_run_is_labelled_by_its_data_not_by_the_folders_above_it(tmp_path):
    """Results under /scratch/rl/results: the SFT runs' metrics were once labelled `rl` from the path."""
    records, metrics = write_synthetic_results(tmp_path / "scratch" / "rl" / "results", with_rl=True, prompts=4, n=2)
    frame = read_training_metrics(metrics)
    sft = frame[frame["checkpoint"].str.startswith("sft/")]
    assert len(sft) and set(sft["stage"]) == {"sft"}
    assert set(frame["stage"]) == {"sft", "rl"}
    assert set(frame.loc[frame["stage"] == "rl", "checkpoint"].str.slice(0, 3)) == {"rl/"}


def test_report_cli(results, tmp_path, python_cli):
    root, records, metrics = results
    proc = python_cli("report", "--what", "tables", "--records", *map(str, records), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "tables" / "in_distribution.md").is_file()
    proc = python_cli("report", "--records", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path))
    assert proc.returncode != 0 and "missing.jsonl does not exist" in proc.stderr


@pytest.fixture()
def python_cli(python):
    import subprocess

    def run(*args):
        return subprocess.run([python, "-m", "curiosft.cli", *args], capture_output=True, text=True, timeout=300)

    return run


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(REPO / "notebooks" / "paper_results.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.timeout(600)
def test_notebook_executes_on_fixture_results(results, monkeypatch):
    from nbclient import NotebookClient

    root = results[0]
    monkeypatch.setenv("CURIOSFT_RESULTS", str(root))
    nb = nbformat.read(REPO / "notebooks" / "paper_results.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    text = "\n".join(str(o.get("text", "")) + json.dumps(o.get("data", {})) for c in nb.cells for o in c.get("outputs", []))
    assert "record files under" in text
    assert "In-distribution math" in text and "CurioSFT (entropy-guided)" in text
    assert "image/png" in text
    assert os.environ["CURIOSFT_RESULTS"] == str(root)


def test_significance_table_and_the_stars_follow_the_paired_test(report):
    frame = pd.read_csv(report / "tables" / "significance.csv")
    assert set(frame["column"]) == {"Tiny-ID", "Tiny-MC", "ID avg", "OOD avg"}
    assert (frame["ci_low"] <= frame["estimate"]).all() and (frame["estimate"] <= frame["ci_high"]).all()
    assert frame.loc[frame["method"] == "sft", "p_value"].isna().all()
    assert frame.loc[frame["method"] != "sft", "p_value"].between(0, 1).all()
    # the star in the main table is exactly p < 0.05 on that table's average
    table = pd.read_csv(report / "tables" / "in_distribution.csv")
    for _, row in table[~table["method"].isin(["base", "sft"])].iterrows():
        test = frame[(frame["method"] == row["method"]) & (frame["schedule"] == row["schedule"])
                     & (frame["column"] == "ID avg")]
        assert row["p < 0.05"] == (test["p_value"].item() < 0.05)
    markdown = (report / "tables" / "in_distribution.md").read_text()
    delta_cell = markdown.split("| CurioSFT (entropy-guided) |")[1].splitlines()[0].split("|")[-2].strip()
    assert delta_cell.endswith("*") == bool(table.loc[table["label"] == "CurioSFT (entropy-guided)", "p < 0.05"].item())
    assert "<table>" in (report / "tables" / "significance.html").read_text()


def test_best_step_selection_and_the_tables_name_the_steps(tmp_path):
    from curiosft.evaluation.synthetic import synthetic_records
    from curiosft.report.selection import select_best

    run = "sft/method~psft/schedule~none/seed~1"
    curve = []
    for step in (20, 40, 60):
        for benchmark in ("tiny_id", "tiny_mc"):
            path = tmp_path / "curves" / run / f"step~{step}" / f"{benchmark}.jsonl"
            write_records(path, synthetic_records(f"{run}/step~{step}", benchmark, prompts=30, n=2))
            curve.append(path)
    choice = select_best(curve, "id")
    assert choice["checkpoint"] == run and choice["last_step"] == 60
    assert choice["values"][str(choice["step"])] == max(choice["values"].values())
    by_benchmark = select_best(curve, "tiny_mc")
    assert set(by_benchmark["values"]) == {"20", "40", "60"}
    with pytest.raises(InputDataError, match="no benchmark .gpqa_diamond."):
        select_best(curve, "gpqa_diamond")
    # records of the selected steps (seed 1 at 40, seed 2 at 60): the tables say so and flag the selection
    records = []
    for seed, step in ((1, 40), (2, 60)):
        for method in ("sft", "psft"):
            checkpoint = f"sft/method~{method}/schedule~none/seed~{seed}/step~{step}"
            for benchmark in ("tiny_id", "tiny_mc"):
                path = tmp_path / "eval" / checkpoint / f"{benchmark}.jsonl"
                write_records(path, synthetic_records(checkpoint, benchmark, prompts=10, n=2))
                records.append(path)
    build_report(records=records, out=tmp_path / "paper", what="tables", selected_by="tiny_id")
    table = (tmp_path / "paper" / "tables" / "in_distribution.md").read_text()
    assert "| Step |" in table and "| 40/60 |" in table
    assert "Tiny-ID †" in table and "Avg †" in table and "eval.select=best:tiny_id" in table
    assert "Tiny-MC †" not in (tmp_path / "paper" / "tables" / "out_of_distribution.md").read_text()
    assert r"\dag{}" in (tmp_path / "paper" / "tables" / "in_distribution.tex").read_text()


def _manifest(checkpoint, overrides, **changes):
    manifest = {
        "stage": "sft", "checkpoint": checkpoint, "benchmark": None, "curve": False, "overrides": overrides,
        "config": {"method": {"name": checkpoint.split("~")[1].split("/")[0]}, "seed": 1,
                   "trainer": {"lr": 1e-5, "epochs": 1}, "paths": {"results": "/a"}},
        "packages": {"torch": "2.13.0", "transformers": "5.10.4"}, "git": {"commit": "a" * 40, "dirty": False},
        "inputs": {"data": {"sha256": "d1"}, "model": {"config_sha256": "m"}},
        "hardware": {"cpus": 2, "gpus": []}, "cost": {"attempts": [], "wall_s": 3600.0, "gpu_hours": 8.0},
    }
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            manifest[section][field] = value
        else:
            manifest[section] = value
    return manifest


def test_runs_compared_in_a_table_warn_on_anything_but_the_swept_keys(tmp_path):
    from curiosft.report.provenance import comparison_warnings, cost_frame, runs_frame

    sft = _manifest("sft/method~sft/schedule~none/seed~1", ["method=sft", "seed=1"])
    psft = _manifest("sft/method~psft/schedule~none/seed~1", ["method=psft", "seed=1", "trainer.lr=1e-6"],
                     config={**sft["config"], "method": {"name": "psft"}, "trainer": {"lr": 1e-6, "epochs": 1},
                             "paths": {"results": "/b"}})
    # method, its override of trainer.lr and paths differ by design: no warning
    assert comparison_warnings([sft, psft]) == []
    drift = _manifest("sft/method~curiosft/schedule~fixed/seed~1", ["method=curiosft", "seed=1"],
                      packages={"torch": "2.12.0", "transformers": "5.10.4"}, git={"commit": "b" * 40, "dirty": True},
                      inputs={"data": {"sha256": "d2"}, "model": {"config_sha256": "other"}},
                      config={**sft["config"], "trainer": {"lr": 1e-5, "epochs": 2}})
    warnings = "\n".join(comparison_warnings([sft, psft, drift]))
    for expected in ("config trainer.epochs: 1 (2:", "package torch: '2.13.0'", "git commit:",
                     "input data sha256: 'd1'", "uncommitted changes"):
        assert expected in warnings, (expected, warnings)
    assert "model" not in warnings and "trainer.lr" not in warnings and "paths" not in warnings
    cost = cost_frame(runs_frame([sft, psft, drift]))
    total = cost[(cost["method"] == "psft") & (cost["part"] == "total")].iloc[0]
    assert total["jobs"] == 1 and total["wall_hours"] == pytest.approx(1.0) and total["gpu_hours"] == 8.0


def test_every_figure_names_each_method_in_a_legend_with_its_seed_count_and_labels_its_axes(tmp_path):
    """Issue 29: accuracy_over_training showed six panels of coloured lines and no legend (its per-row legend
    test compared two numpy views). Every figure the report draws, read back from the plotting code's
    output: one legend naming exactly the methods (and schedules) drawn, titled with the seed count, and
    an x and a y label on every panel that holds data."""
    from curiosft.evaluation.metrics import per_benchmark
    from curiosft.evaluation.synthetic import DEFAULT_RUNS
    from curiosft.report.figures import paper_figures
    from curiosft.report.labels import run_label
    from curiosft.runid import RunId

    records, metrics = write_synthetic_results(tmp_path / "results", seeds=(1, 2), prompts=6, n=2, with_rl=True)
    curve_files = []
    for stage in ("sft", "rl"):
        for (method, schedule), seed in ((run, seed) for run in DEFAULT_RUNS for seed in (1, 2)):
            run_id = RunId(stage, method, schedule, seed)
            path = tmp_path / "curves" / run_id.checkpoint / "tiny_id.jsonl"
            write_records(path, (r for step in (10, 20) for r in synthetic_records(run_id.checkpoint_at(step),
                                                                                    "tiny_id", prompts=4, n=2)))
            curve_files.append(path)
    bench = per_benchmark(read_records(records))
    figures = paper_figures(bench, read_training_metrics(metrics), per_benchmark(read_records(curve_files)))
    assert set(figures) == {"accuracy_over_training", "training_entropy", "eval_entropy", "pass_at_k", "rl_curves"}
    methods = {run_label(m, s) for m, s in DEFAULT_RUNS}
    for name, fig in figures.items():
        legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]
        assert len(legends) == 1, (name, len(legends))
        entries = {text.get_text() for text in legends[0].get_texts()}
        expected = methods | ({"Base model"} if name in ("eval_entropy", "pass_at_k") else set())
        assert entries == expected, (name, entries)
        assert legends[0].get_title().get_text() == "method (mean ± std over 2 seeds)", name
        for ax in fig.axes:
            if ax.axison and (ax.lines or ax.patches or ax.collections):
                assert ax.get_xlabel() and ax.get_ylabel(), (name, ax.get_title())


def test_one_markdown_table_writer():
    from curiosft.report.markdown import markdown_table

    assert markdown_table(["Method", "AIME24"], [["SFT", 1.5], ["a|b", "x\ny"]], "lr") == [
        "| Method | AIME24 |", "|:---|---:|", "| SFT | 1.5 |", "| a\\|b | x y |"]
    assert markdown_table(["a", "b"], [])[1] == "|---|---|"
    with pytest.raises(ValueError, match="a row of 1 cells in a table of 2 columns"):
        markdown_table(["a", "b"], [["x"]])
    with pytest.raises(ValueError, match="align 'lx'"):
        markdown_table(["a", "b"], [], "lx")
