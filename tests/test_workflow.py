"""The Snakemake DAG: config schema, lint, dry runs of every sweep, and a real run of the smoke experiment."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import jsonschema
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
    assert workflow_config["experiment"] == "tiny"
    assert set(workflow_config["sweeps"]) >= {"tiny", "paper", "smoke"}
    # every sweep name is also a Hydra experiment
    assert set(workflow_config["sweeps"]) <= set(group_options("experiment"))


def test_schema_enums_match_the_config_tree(schema):
    sweep = schema["properties"]["sweeps"]["additionalProperties"]["properties"]
    assert set(sweep["methods"]["items"]["enum"]) == set(group_options("method"))
    assert set(sweep["schedules"]["items"]["enum"]) == set(group_options("schedule")) - {"none"}
    from curiosft.data.registry import REGISTRY

    assert set(schema["properties"]["local_data"]["propertyNames"]["enum"]) == set(REGISTRY)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c["sweeps"]["tiny"].update(methods=["curio"]),
        lambda c: c["sweeps"]["tiny"].update(seeds=[]),
        lambda c: c["sweeps"]["tiny"].update(schedules=["none"]),
        lambda c: c.update(experimnet="tiny"),
        lambda c: c.update(overrides=["not an override"]),
        lambda c: c.update(local_data={"math5000": "/x"}),
        lambda c: c["sweeps"]["tiny"].update(method_overrides={"curio": ["trainer.lr=1"]}),
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
SFT_JOBS = {"smoke": 2, "tiny": 2 + 2 + 2 * 2, "paper": 4 * 3 + 3 * 3, "paper_psft": 2 * 3}
# checkpoints (the tiny world's base model, every SFT run and its RL run) x benchmarks
EVAL_JOBS = {"smoke": (1 + 2 * 2) * 2, "tiny": (1 + 2 * 8) * 2, "paper": 2 * 21 * 9, "paper_psft": 2 * 6 * 5}


def job_counts(out: str) -> dict[str, int]:
    import re

    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", out, re.M)}


@pytest.mark.parametrize("experiment", ["smoke", "tiny", "paper", "paper_psft"])
def test_dry_run_of_every_sweep(repo, python, tmp_path, experiment):
    proc = snakemake(repo, python, "-n", "--config", f"experiment={experiment}", workdir=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    counts = job_counts(out)
    assert counts["sft"] == SFT_JOBS[experiment], counts
    assert counts["rl"] == SFT_JOBS[experiment], counts
    assert counts["eval"] == EVAL_JOBS[experiment], counts
    assert counts["tables"] == 1 and counts["figures"] == 1, counts
    if experiment == "paper":
        assert "method=psft schedule=none seed=1 trainer.lr=1.0e-6 trainer.lr_scheduler=constant" in out
    if experiment in ("paper", "paper_psft"):
        assert "prepare_training_data" in out and "prepare_benchmark" in out
    else:
        assert counts["world_model"] == 1
        assert "method~sft/schedule~none/seed~1" in out


def test_bad_config_fails_before_any_job(repo, python, tmp_path):
    proc = snakemake(repo, python, "-n", "--config", "experiment=nope", workdir=tmp_path)
    assert proc.returncode != 0
    assert "experiment 'nope' has no sweep" in proc.stdout + proc.stderr
    proc = snakemake(repo, python, "-n", "--config", "overrides=[trainer.lrr=1]", workdir=tmp_path)
    assert proc.returncode != 0
    assert "Key 'lrr' not in 'TrainerConfig'" in proc.stdout + proc.stderr


@pytest.mark.e2e
def test_smoke_experiment_runs_through_the_real_dag(repo, python, tmp_path):
    """The whole path the demo runs, at minimal sizes; later stages extend this run."""
    proc = snakemake(repo, python, "--profile", str(repo / "profiles" / "default"), "--cores", "2",
                     "--config", "experiment=smoke", workdir=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
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
    for name in ("training_entropy", "eval_entropy", "pass_at_k", "rl_curves"):
        assert (paper / "figures" / f"{name}.png").stat().st_size > 10_000
    # cached: a second run has nothing to do
    again = snakemake(repo, python, "--cores", "2", "--config", "experiment=smoke", workdir=tmp_path)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    # a change of grader re-runs the RL jobs (their reward) and the evaluations, a change of sampling only the
    # evaluations; never the world or the SFT training (their jobs do not get those overrides)
    for override, rerun in (("scoring.grader=release", {"rl", "eval", "tables", "figures"}),
                            ("eval.temperature=0.7", {"eval", "tables", "figures"})):
        dry = snakemake(repo, python, "-n", "--config", "experiment=smoke", f"overrides=[{override}]", workdir=tmp_path)
        assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-3000:]
        jobs = set(re.findall(r"^(?:local)?rule (\w+):", dry.stdout, re.MULTILINE))
        assert jobs - {"all"} == rerun, (override, jobs)
