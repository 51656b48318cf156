"""The Snakemake DAG: config schema, lint, dry runs of every sweep, and a real run of the smoke experiment."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
import yaml

from curiosft.config import group_options


def snakemake(repo: Path, python: str, *args: str, workdir: Path | None = None, timeout: int = 600):
    cmd = [python, "-m", "snakemake", "-s", str(repo / "Snakefile"), *args]
    if workdir is not None:
        cmd += ["-d", str(workdir)]
    return subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def workflow_config(repo):
    return yaml.safe_load((repo / "config" / "config.yaml").read_text())


@pytest.fixture(scope="module")
def schema(repo):
    return yaml.safe_load((repo / "workflow" / "schemas" / "config.schema.yaml").read_text())


def test_shipped_config_is_valid(workflow_config, schema):
    jsonschema.validate(workflow_config, schema)
    assert workflow_config["experiment"] == "tiny" and "tiny" in group_options("experiment")
    # the sweeps live with their Hydra experiments (conf/experiment/<name>.yaml, `sweep`), not here
    assert "sweeps" not in workflow_config and "sweeps" not in schema["properties"]


def test_names_are_checked_against_the_registries_not_the_schema(workflow_config, schema):
    """The schema holds no copy of the method, schedule or data set names (a method registered from outside
    is sweepable); the workflow's start-up checks them against the registries, naming the choices."""
    from curiosft.data.registry import check_local_data
    from curiosft.errors import ConfigError
    from curiosft.sweep import runs_of

    assert "method" not in json.dumps(schema["properties"]) and "math500" not in json.dumps(schema)
    for sweep, match in [({"methods": ["curio"], "seeds": [1]}, "unknown method 'curio'.*choose from sft, psft"),
                         ({"methods": ["curiosft"], "schedules": ["warm"], "seeds": [1]}, "unknown schedule 'warm'"),
                         ({"methods": ["sft"], "seeds": [1], "method_overrides": {"curio": ["a=1"]}}, "'curio'")]:
        with pytest.raises(ConfigError, match=match):
            runs_of(sweep)
    with pytest.raises(ConfigError, match="local_data names unknown data set.*'math5000'.*math500"):
        check_local_data({"math5000": "/x"})
    check_local_data({"math500": "/x", "openr1_math_46k": "/y"})


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c.update(experiment=""),
        lambda c: c.update(experimnet="tiny"),
        lambda c: c.update(overrides=["not an override"]),
        lambda c: c.update(local_data={"math500": ""}),
        lambda c: c.update(launcher="ray"),
    ],
)
def test_schema_rejects_bad_configs(workflow_config, schema, mutate):
    bad = copy.deepcopy(workflow_config)
    mutate(bad)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_lint(repo, python):
    proc = snakemake(repo, python, "--lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Lints for" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr


# SFT jobs per sweep: schedules multiply only curiosft
SFT_JOBS = {"smoke": 2, "tiny": 2 + 2 + 2 * 2, "paper": 4 * 3 + 3 * 3, "paper_psft": 2 * 3, "baselines": 5 * 3}
# checkpoints (the tiny world's base model, every SFT run and its RL run): one job each for all benchmarks
# (issue 29: one start-up and one model load per checkpoint)
EVAL_JOBS = {"smoke": 1 + 2 * 2, "tiny": 1 + 2 * 8, "paper": 2 * 21, "paper_psft": 2 * 6, "baselines": 2 * 15}


def job_counts(out: str) -> dict[str, int]:
    import re

    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", out, re.M)}


@pytest.mark.parametrize("experiment", ["smoke", "tiny", "paper", "paper_psft", "baselines"])
def test_dry_run_of_every_sweep(repo, python, tmp_path, experiment):
    proc = snakemake(repo, python, "-n", "--config", f"experiment={experiment}", workdir=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    counts = job_counts(out)
    assert counts["sft"] == SFT_JOBS[experiment], counts
    assert counts["rl"] == SFT_JOBS[experiment], counts
    assert counts["eval"] == EVAL_JOBS[experiment], counts
    # a run's curve: one job for its saved steps on every curve benchmark
    assert counts.get("eval_curve", 2 * SFT_JOBS[experiment]) == 2 * SFT_JOBS[experiment], counts
    assert counts["tables"] == 1 and counts["figures"] == 1, counts
    if experiment == "paper":
        assert "method=psft schedule=none seed=1 trainer.lr=1.0e-6 trainer.lr_scheduler=constant" in out
    if experiment == "baselines":
        assert "method=eaft schedule=none seed=3" in out and "method=asft schedule=none seed=1" in out
    if experiment in ("paper", "paper_psft", "baselines"):
        assert "prepare_training_data" in out and "prepare_benchmark" in out
    else:
        assert counts["world_model"] == 1
        assert "method~sft/schedule~none/seed~1" in out


def test_the_tiny_sweep_runs_any_baseline(repo, python, tmp_path):
    proc = snakemake(repo, python, "-n", "--config", "overrides=['sweep.methods=[sft,eaft,asft]']", workdir=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    counts = job_counts(out)
    assert counts["sft"] == counts["rl"] == 3 * 2, counts  # 3 methods x the tiny sweep's 2 seeds
    assert "method=eaft schedule=none seed=2" in out and "method=asft schedule=none seed=1" in out


def test_a_protocol_preset_reaches_every_evaluation_and_no_training(repo, python, tmp_path):
    proc = snakemake(repo, python, "-n", "--config", "experiment=paper", "overrides=[protocol=luffy]", workdir=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    commands = [line for line in proc.stdout.splitlines() if "curiosft.cli" in line]
    evals = [c for c in commands if "curiosft.cli eval" in c]
    assert evals and all("protocol=luffy" in c for c in evals)
    assert not any("protocol=luffy" in c for c in commands if "curiosft.cli sft" in c)


def test_bad_config_fails_before_any_job(repo, python, tmp_path):
    proc = snakemake(repo, python, "-n", "--config", "experiment=nope", workdir=tmp_path)
    assert proc.returncode != 0
    assert "experiment 'nope' is not a Hydra experiment; choose one of baselines, paper, paper_psft, smoke, smollm2, tiny" in \
        proc.stdout + proc.stderr
    # the sweeps moved into the experiments: an old config says where
    proc = snakemake(repo, python, "-n", "--config", "sweeps={tiny: {methods: [sft], seeds: [1]}}", workdir=tmp_path)
    assert proc.returncode != 0 and "config `sweeps` is gone" in proc.stdout + proc.stderr
    proc = snakemake(repo, python, "-n", "--config", "overrides=[trainer.lrr=1]", workdir=tmp_path)
    assert proc.returncode != 0
    assert "Key 'lrr' not in 'TrainerConfig'" in proc.stdout + proc.stderr
    # a reward the SFT data never earns (LIMO writes no </think>): refused before any job, naming the fix
    proc = snakemake(repo, python, "-n", "--config", "experiment=paper_psft", "overrides=[rl.reward.format=rl]",
                     workdir=tmp_path)
    assert proc.returncode != 0
    assert "the limo demonstrations (data=limo) have none" in proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def smoke_run(repo, python, tmp_path_factory):
    """The smoke experiment through the real DAG, once for the tests below."""
    tmp_path = tmp_path_factory.mktemp("smoke")
    proc = snakemake(repo, python, "--profile", str(repo / "profiles" / "default"), "--cores", "2",
                     "--config", "experiment=smoke", workdir=tmp_path, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return tmp_path


SMOKE_RUNS = ("method~sft/schedule~none/seed~1", "method~curiosft/schedule~entropy_guided/seed~1")


@pytest.mark.e2e
def test_smoke_experiment_runs_through_the_real_dag(repo, python, smoke_run):
    """The whole path the demo runs, at minimal sizes; later stages extend this run."""
    tmp_path = smoke_run
    world = tmp_path / "results" / "world"
    for name in ("pretrain", "sft_train", "rl_train", "test_id", "test_mc"):
        assert (world / "data" / f"{name}.parquet").is_file()
    assert (world / "model" / "model.safetensors").is_file()
    assert (world / "tokenizer" / "tokenizer.json").is_file()
    report = json.loads((world / "base_model.json").read_text())
    assert report["pretrain_steps"] == 30 and 0 <= report["greedy_accuracy_test_id"] <= 1
    assert (tmp_path / "results" / "logs" / "world" / "model.log").is_file()
    # stage 1: one verl SFT job per run of the smoke sweep
    for run in ("method~sft/schedule~none/seed~1", "method~curiosft/schedule~entropy_guided/seed~1"):
        run_dir = tmp_path / "results" / "sft" / run
        steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        assert steps == [1, 2, 3, 4]
        assert (run_dir / "model" / "model.safetensors").is_file()
        assert (tmp_path / "results" / "logs" / "sft" / f"{run}.log").is_file()
    # stage 2: one GRPO job per SFT run (local backend, its own reward server), continuing steps from 1
    for run in ("method~sft/schedule~none/seed~1", "method~curiosft/schedule~entropy_guided/seed~1"):
        run_dir = tmp_path / "results" / "rl" / run
        lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        assert [m["step"] for m in lines] == [1, 2, 3]
        assert all(0 <= m["data"]["train/reward"] <= 1 for m in lines)
        assert (run_dir / "model" / "model.safetensors").is_file()
        assert "reward server on http://127.0.0.1:" in (run_dir / "reward_server.log").read_text()
    # evaluation: per-sample records for every checkpoint x benchmark, then tables and figures
    for checkpoint in ("base", "sft/method~sft/schedule~none/seed~1", "sft/method~curiosft/schedule~entropy_guided/seed~1",
                       "rl/method~sft/schedule~none/seed~1", "rl/method~curiosft/schedule~entropy_guided/seed~1"):
        for benchmark, kind in (("tiny_id", "math"), ("tiny_mc", "multiple_choice")):
            lines = (tmp_path / "results" / "eval" / checkpoint / f"{benchmark}.jsonl").read_text().splitlines()
            records = [json.loads(line) for line in lines]
            # smoke: 16 prompts x 2 samples
            assert len(records) == 32
            assert {r["checkpoint"] for r in records} == {checkpoint} and {r["kind"] for r in records} == {kind}
            assert {r["sample"] for r in records} == {0, 1}
            assert all(0 <= r["score"] <= 1 and r["response_length"] >= 1 and r["mean_entropy"] >= 0 for r in records)
            if kind == "multiple_choice":
                assert all(sorted(r["choice_order"]) == [0, 1, 2, 3] for r in records)
    paper = tmp_path / "results" / "paper"
    for name in ("in_distribution", "out_of_distribution", "post_rl", "pass_at_k"):
        assert (paper / "tables" / f"{name}.md").is_file() and (paper / "tables" / f"{name}.tex").is_file()
    table = (paper / "tables" / "in_distribution.md").read_text()
    assert "| Base model |" in table and "| SFT |" in table and "| CurioSFT (entropy-guided) |" in table
    post_rl = (paper / "tables" / "post_rl.md").read_text()
    assert "| SFT |" in post_rl and "| CurioSFT (entropy-guided) |" in post_rl
    for name in ("training_entropy", "eval_entropy", "pass_at_k", "rl_curves", "accuracy_over_training"):
        assert (paper / "figures" / f"{name}.png").stat().st_size > 10_000
    # cached: a second run has nothing to do
    again = snakemake(repo, python, "--cores", "2", "--config", "experiment=smoke", workdir=tmp_path)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    # a change of grader re-runs the RL jobs (their reward) and the evaluations, a change of sampling only the
    # evaluations; never the world or the SFT training (their jobs do not get those overrides)
    # a stage gets the config sections it reads (curiosft.stages): a trainer key re-runs SFT and what follows,
    # never the world (it once rebuilt the world: every override but eval/scoring/rl reached it)
    # a run's curve evaluation (eval_curve: one job per run, its saved steps listed once the run, a Snakemake
    # checkpoint, has finished) re-runs with the run; a change of the curve protocol re-runs the curves (the
    # curve files are never reused under other settings)
    after_training = {"eval", "eval_curve", "select", "tables", "figures"}
    after_retraining = after_training
    for override, rerun in (("scoring.grader=release", {"rl", *after_training}),
                            ("eval.temperature=0.7", after_training),
                            ("eval.curve.limit=4", {"eval_curve", "select", "tables", "figures"}),
                            ("trainer.lr=3e-5", {"sft", "rl", *after_retraining}),
                            # a method's own key reaches that method's runs (the sweep's method_overrides)
                            ('+sweep.method_overrides.curiosft=["method.alpha=0.5"]',
                             {"sft", "rl", *after_retraining}),
                            ("rl.lr=1e-5", {"rl", *after_retraining}),
                            ("world.seed=1", {"world_data", "world_tokenizer", "world_model", "sft", "rl",
                                              *after_retraining})):
        # each override a quoted YAML string (Hydra's list values hold `=` only quoted)
        dry = snakemake(repo, python, "-n", "--config", "experiment=smoke", f"overrides=[{override!r}]",
                        workdir=tmp_path)
        assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-3000:]
        jobs = re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):", dry.stdout, re.MULTILINE)
        assert set(jobs) - {"all"} == rerun, (override, jobs)
        if override.startswith("+sweep."):
            assert jobs.count("sft") == 1, jobs  # the curiosft run only


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.e2e
def test_build_world_makes_the_files_the_world_rules_make(smoke_run, smoke_world):
    """The fixtures' and the GPU check's world (`world.build.build_world`) is the DAG's, byte for byte."""
    ours, dags = smoke_world / "world", smoke_run / "results" / "world"
    files = sorted(p.relative_to(dags) for p in dags.rglob("*")
                   if p.is_file() and p.suffix in {".parquet", ".json", ".safetensors"}
                   and not p.name.startswith("sft_train.lengths") and p.name != "base_model.json")
    assert {"data/sft_train.parquet", "tokenizer/tokenizer.json", "model/model.safetensors"} <= {str(f) for f in files}
    assert {str(f): _sha256(ours / f) for f in files} == {str(f): _sha256(dags / f) for f in files}


@pytest.mark.e2e
def test_smoke_curves_selection_statistics_and_manifests(smoke_run):
    """Issue "every figure": the saved steps evaluated (curve protocol), each run's best in-distribution
    step selected and evaluated in full, the significance and provenance tables, a manifest per output."""
    results = smoke_run / "results"
    # curves: smoke saves SFT at steps 2, 4 and RL at 2, 3; curve protocol 8 prompts x 1 sample
    for stage, steps in (("sft", (2, 4)), ("rl", (2, 3))):
        for run in SMOKE_RUNS:
            # one records file per run and benchmark (one job), every saved step in it
            for benchmark in ("tiny_id", "tiny_mc"):
                lines = (results / "curves" / stage / run / f"{benchmark}.jsonl").read_text()
                records = [json.loads(line) for line in lines.splitlines()]
                assert len(records) == 8 * len(steps) and {r["step"] for r in records} == set(steps)
                assert {(r["checkpoint"], r["step"]) for r in records} == {(f"{stage}/{run}/step~{s}", s) for s in steps}
            # the selection: best:id over the run's curve steps, then that step in full (16 prompts x 2)
            choice = json.loads((results / "select" / stage / f"{run}.json").read_text())
            assert choice["by"] == "id" and set(choice["values"]) == {str(s) for s in steps}
            assert choice["step"] in steps and choice["last_step"] == steps[-1]
            best = max(choice["values"].values())
            assert choice["values"][str(choice["step"])] == best
            folder = results / "eval" / stage / run / ("" if choice["step"] == steps[-1] else f"step~{choice['step']}")
            records = [json.loads(line) for line in (folder / "tiny_mc.jsonl").read_text().splitlines()]
            assert len(records) == 32 and {r["step"] for r in records} == {choice["step"]}
    # final models know their step (model/curiosft_step.json)
    final = [json.loads(line) for line in (results / "eval" / "sft" / SMOKE_RUNS[0] / "tiny_id.jsonl").read_text()
             .splitlines()]
    assert {r["step"] for r in final} == {4}
    tables = results / "paper" / "tables"
    in_dist = (tables / "in_distribution.md").read_text()
    assert "| Step |" in in_dist and "Tiny-ID †" in in_dist and "best step by id" in in_dist
    significance = (tables / "significance.md").read_text()
    assert "After SFT" in significance and "After RL (GRPO)" in significance and "p=" in significance
    frame = pd.read_csv(tables / "significance.csv")
    assert (frame["ci_low"] <= frame["estimate"]).all() and (frame["estimate"] <= frame["ci_high"]).all()
    assert "maj" in pd.read_csv(tables / "benchmark_metrics.csv").columns
    # a manifest with every output
    data = results / "world" / "data"
    for run in SMOKE_RUNS:
        manifest = json.loads((results / "sft" / run / "manifest.json").read_text())
        assert manifest["stage"] == "sft" and manifest["checkpoint"] == f"sft/{run}"
        assert manifest["inputs"]["data"]["sha256"] == _sha256(data / "sft_train.parquet")
        assert manifest["packages"]["torch"] and manifest["packages"]["verl"]
        assert manifest["git"] is None or len(manifest["git"]["commit"]) == 40
        assert manifest["config"]["method"]["name"] in run and "seed=1" in manifest["overrides"]
        assert manifest["hardware"]["cpus"] >= 1 and manifest["cost"]["wall_s"] > 0
        assert manifest["cost"]["attempts"][-1]["finished"] is True
        rl = json.loads((results / "rl" / run / "manifest.json").read_text())
        assert rl["inputs"]["model"]["config_sha256"] and rl["inputs"]["data"]["sha256"] == _sha256(
            data / "rl_train.parquet")
    # one job for both benchmarks of a checkpoint: a manifest per records file, with its own benchmark input
    evaluation = json.loads((results / "eval" / "base" / "tiny_mc.manifest.json").read_text())
    assert evaluation["benchmark"] == "tiny_mc" and evaluation["inputs"]["benchmark"]["sha256"] == _sha256(
        data / "test_mc.parquet")
    assert evaluation["outputs"] == 2 and evaluation["fingerprint"]["inputs"]["benchmark"].endswith(
        evaluation["inputs"]["benchmark"]["sha256"])
    curve = json.loads((results / "curves" / "rl" / SMOKE_RUNS[1] / "tiny_id.manifest.json").read_text())
    assert curve["curve"] is True and curve["checkpoint"] == f"rl/{SMOKE_RUNS[1]}"
    assert set(curve["inputs"]) == {"benchmark", f"model rl/{SMOKE_RUNS[1]}/step~2", f"model rl/{SMOKE_RUNS[1]}/step~3"}
    runs = (tables / "runs.md").read_text()
    assert f"sft/{SMOKE_RUNS[0]}" in runs and "| eval |" in runs
    cost = pd.read_csv(tables / "cost.csv")
    assert set(cost["part"]) >= {"SFT", "RL", "evaluation", "curve evaluation", "total"}
    # a job that wrote both benchmarks' records counts once (each output a half): one evaluation job per
    # checkpoint the tables report (the base model, each SFT and RL run's selected one), one curve job per run
    jobs = cost[cost["part"] != "total"].groupby("part")["jobs"].sum()
    assert jobs["evaluation"] == 1 + 2 * len(SMOKE_RUNS) and jobs["curve evaluation"] == 2 * len(SMOKE_RUNS), cost
    assert (cost.loc[cost["part"] == "total", "wall_hours"] > 0).all()


@pytest.mark.e2e
def test_snakemake_report_renders_in_headless_chromium(repo, python, smoke_run, tmp_path):
    """`snakemake --report`: one HTML file with every figure and table, opened in Debian's chromium."""
    report = smoke_run / "report.html"
    proc = snakemake(repo, python, "--report", str(report), "--config", "experiment=smoke", workdir=smoke_run)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    html = report.read_text()
    for name in ("accuracy_over_training.png", "training_entropy.png", "in_distribution.html", "significance.html",
                 "cost.html", "runs.html"):
        assert name in html, name
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not installed (make test installs Debian's package as root; apt-get install chromium)")
    # a copy of the report with tests/data/report_probe.js: it opens each result as a user would (category,
    # then the eye button) and writes what the content pane shows into the page, read back with --dump-dom
    probe = (repo / "tests" / "data" / "report_probe.js").read_text()
    head, body_end, tail = html.rpartition("</body>")
    browse = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=30000",
              "--window-size=1400,1000"]
    out = Path(os.environ.get("CURIOSFT_TEST_OUTPUT", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    figures = ["training_entropy", "eval_entropy", "pass_at_k", "rl_curves", "accuracy_over_training"]
    tables = ["in_distribution", "out_of_distribution", "post_rl", "pass_at_k", "significance", "runs", "cost"]
    for category, label in [("Figures", f) for f in figures] + [("Tables", t) for t in tables]:
        page = tmp_path / f"probe_{category}_{label}.html"
        page.write_text(head + f"<script>{probe}\ncuriosftProbe({category!r}, {label!r});</script>" + body_end + tail)
        dom = subprocess.run([*browse, "--dump-dom", f"file://{page}"], capture_output=True, text=True, timeout=180)
        assert dom.returncode == 0, dom.stderr[-2000:]
        shown = re.findall(r'<div id="curiosft-probe">([^<]*)</div>', dom.stdout)
        assert shown, (category, label, dom.stdout[-1000:])
        if category == "Figures":
            # the PNG decoded at its full size (matplotlib at 150 dpi: far more than an icon)
            width, height = map(int, re.fullmatch(r"image (\d+)x(\d+)", shown[-1]).groups())
            assert width > 600 and height > 300, (label, shown[-1])
        else:
            assert shown[-1].startswith("iframe ") and "&lt;table&gt;" in shown[-1], (label, shown[-1][:500])
        if label in ("accuracy_over_training", "significance"):
            shot = out / f"snakemake_report_{label}.png"
            proc = subprocess.run([*browse, f"--screenshot={shot}", f"file://{page}"], capture_output=True,
                                  text=True, timeout=180)
            assert proc.returncode == 0 and shot.stat().st_size > 20_000, proc.stderr[-2000:]
            print(f"screenshot of the report: {shot}")


@pytest.mark.e2e
def test_demo_time_breaks_the_finished_smoke_run_down_per_rule(repo, python, smoke_run):
    """benchmarks/demo_time.py on a real run's .snakemake records: one job per job Snakemake ran (2 SFT, 2 RL,
    one curve job per run for all its curve benchmarks' files), each with its own rule and wall time inside
    the run's span."""
    proc = subprocess.run([python, str(repo / "benchmarks" / "demo_time.py"), "-d", str(smoke_run), "--jobs"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split(" | ")[0].removeprefix("| "): line.split(" | ")
            for line in proc.stdout.splitlines() if line.startswith("| ") and not line.startswith("| rule")}
    assert rows["sft"][1] == "2" and rows["rl"][1] == "2" and rows["world_model"][1] == "1"
    curve_runs = {f.parent for f in (smoke_run / "results" / "curves").rglob("*.jsonl")}
    assert curve_runs and rows["eval_curve"][1] == str(len(curve_runs))
    eval_checkpoints = {f.parent for f in (smoke_run / "results" / "eval").rglob("*.jsonl")}
    assert rows["eval"][1] == str(len(eval_checkpoints))
    assert "jobs side by side on average" in proc.stdout
    # every finished job listed once, with the job's first output
    assert "results/world/base_model.json | world_model |" in proc.stdout
    missing = subprocess.run([python, str(repo / "benchmarks" / "demo_time.py"), "-d", str(smoke_run / "results")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and "no Snakemake records" in missing.stderr


def test_your_own_model_and_data_plan_no_tiny_world_job(repo, python, smoke_world, tmp_path):
    """model.path and data.* pointing at your files: the DAG builds no tiny-world job, evaluates your base
    model, and a missing file is refused before any job, naming the key and the fix (issue 34)."""
    import shutil

    model = tmp_path / "my-model"
    shutil.copytree(smoke_world / "world" / "model", model)
    data = smoke_world / "world" / "data"
    own = [f"model.path={model}", f"data.sft_train={data / 'sft_train.parquet'}",
           f"data.rl_train={data / 'rl_train.parquet'}", "eval.benchmarks=[math500]"]
    dry = snakemake(repo, python, "-n", "--config", "experiment=smoke", f"overrides={own}",
                    "local_data={math500: /x/test.jsonl}", workdir=tmp_path / "wd")
    assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-3000:]
    counts = job_counts(dry.stdout)
    assert not {"world_data", "world_tokenizer", "world_model"} & set(counts), counts
    assert counts["prepare_benchmark"] == 1 and counts["eval"] == 1 + 2 * 2, counts  # base + 2 runs x (sft, rl)
    assert f"--model {model} " in dry.stdout  # the base row is your model
    for key, value, message in [("model.path", tmp_path / "nope", f"model.path={tmp_path / 'nope'}: no such folder"),
                                ("data.sft_train", tmp_path / "mine.parquet",
                                 f"data.sft_train={tmp_path / 'mine.parquet'}: no such file, and no rule")]:
        bad = [o for o in own if not o.startswith(key)] + [f"{key}={value}"]
        proc = snakemake(repo, python, "-n", "--config", "experiment=smoke", f"overrides={bad}",
                         workdir=tmp_path / "wd")
        assert proc.returncode != 0 and message in proc.stdout + proc.stderr, proc.stdout[-2000:]


@pytest.mark.slow
@pytest.mark.real
@pytest.mark.e2e
def test_smollm2_experiment_end_to_end_on_a_real_model_and_real_files(repo, python, smollm2, realdata, tmp_path):
    """experiment=smollm2 at smoke size (issue 34): SmolLM2-135M-Instruct, SFT on MATH-500's worked solutions
    (rows 100-499), local GRPO, evaluation on MATH-500's first rows and ARC-Challenge from their public files,
    tables and figures; no tiny-world job; every run's state dropped once it finished (checkpoints)."""
    local = (f"local_data={{math500_solutions: {realdata / 'math500' / 'test.jsonl'}, "
             f"math500: {realdata / 'math500' / 'test.jsonl'}, arc_challenge: {realdata / 'arc_challenge' / 'test.jsonl'}}}")
    small = ["sweep.methods=[sft,curiosft]", "trainer.max_steps=2", "trainer.save_freq=2", "rl.max_steps=1",
             "rl.save_freq=1", "rl.max_response_length=64", "eval.limit=4", "eval.max_new_tokens=64"]
    env = dict(os.environ, CURIOSFT_CACHE=str(smollm2.parent))
    proc = subprocess.run([python, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path),
                           "--profile", str(repo / "profiles" / "default"), "--cores", "2", "--config",
                           "experiment=smollm2", local, f"overrides={small}"],
                          cwd=repo, capture_output=True, text=True, timeout=3000, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "world_" not in out, "a tiny-world job ran"
    results = tmp_path / "results" / "smollm2"
    table = (results / "paper" / "tables" / "in_distribution.md").read_text()
    assert "MATH-500" in table and "| Base model |" in table and "| CurioSFT (entropy-guided) |" in table, table
    assert "ARC-C" in (results / "paper" / "tables" / "out_of_distribution.md").read_text()
    records = [json.loads(line) for line in (results / "eval" / "base" / "math500.jsonl").read_text().splitlines()]
    assert len(records) == 4 and {r["prompt_id"] for r in records} == {0, 1, 2, 3}  # MATH-500's first rows
    sft = results / "sft" / "method~curiosft" / "schedule~entropy_guided" / "seed~1"
    assert (sft / "model" / "model.safetensors").is_file()
    # finished: the export stays, the optimizer state is gone; the manifest says what the run holds
    assert [p.name for p in (sft / "checkpoints" / "global_step_2").iterdir()] == ["huggingface"]
    assert json.loads((sft / "manifest.json").read_text())["disk_bytes"] > 500e6
    training = pd.read_parquet(results / "data" / "math500_solutions" / "sft_train.parquet")
    questions = set(pd.read_json(realdata / "math500" / "test.jsonl", lines=True)["problem"][:100])
    assert len(training) == 400 and not questions & {m[1]["content"] for m in training["messages"]}
