"""On a real one-node SLURM cluster (.ci/slurm/up.sh; `make test-slurm`): the smoke sweep through
`--profile profiles/slurm`, requeue on the timeout signal, Ctrl-C on snakemake, re-attaching after a
restart, Hydra multirun with the submitit launcher, validation before anything is queued."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(1200)]

# what this cluster's node can give a job (2 CPUs, 8 GB, no GPU)
FITS = ["launcher.gpus_per_node=0", "launcher.cpus_per_task=1", "launcher.mem_gb=2", "launcher.timeout_min=30"]


@pytest.fixture(autouse=True)
def cluster():
    if shutil.which("sinfo") is None or subprocess.run(["sinfo"], capture_output=True).returncode != 0:
        pytest.fail("no SLURM cluster: run these tests with `make test-slurm` (brings one up on this machine)")
    yield
    subprocess.run(["scancel", "--user", os.environ.get("USER", "root")], capture_output=True)


def squeue(name_prefix: str = "curiosft") -> list[tuple[str, str, str]]:
    out = subprocess.run(["squeue", "-h", "-o", "%i|%j|%T"], capture_output=True, text=True, check=True).stdout
    return [tuple(line.split("|")) for line in out.splitlines() if line.split("|")[1].startswith(name_prefix)]


def sacct_jobs(name: str) -> list[str]:
    out = subprocess.run(["sacct", "-n", "-X", "-P", "-o", "JobID,JobName,State", "--name", name],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.strip()]


def wait_for(condition, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def sft_command(results: Path, run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "curiosft.cli", "sft", "--out", str(run_dir), "experiment=smoke", "method=sft",
            f"paths.results={results}", "launcher=slurm", *FITS, *extra]


def steps(run_dir: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_the_time_limit_signal_lead_reaches_sbatch(tmp_path):
    """launcher.signal_delay_s is submitit's signal_delay_s: sbatch --signal=USR2@N (curiosft.preemption)."""
    from curiosft.config import compose_config
    from curiosft.launcher.slurm import executor

    ex = executor(compose_config(["experiment=paper", "launcher.signal_delay_s=240"]).launcher, tmp_path, "job")
    assert ex.parameters["signal_delay_s"] == 240
    assert "#SBATCH --signal=USR2@240" in ex._make_submission_file_text("python -c pass", "0")


def test_smoke_sweep_runs_through_the_slurm_profile(repo, python, tmp_path):
    cmd = [python, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path), "--profile",
           str(repo / "profiles" / "slurm"), "--config", "experiment=smoke", f"overrides=[{','.join(FITS)}]"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = tmp_path / "results"
    for stage in ("sft", "rl"):
        run = results / stage / "method~curiosft" / "schedule~entropy_guided" / "seed~1"
        assert (run / "model" / "config.json").is_file()
        assert not (run / "slurm" / "job.json").exists()  # removed once the job succeeded
    assert (results / "paper" / "tables" / "post_rl.md").is_file()
    # every heavy job ran as a SLURM job and completed; tables and figures stayed here
    for name in ("curiosft-sft:method~sft/schedule~none/seed~1", "curiosft-rl:method~sft/schedule~none/seed~1",
                 "curiosft-eval:method~sft/schedule~none/seed~1/tiny_id+tiny_mc"):
        assert any(line.endswith("|COMPLETED") for line in sacct_jobs(name)), (name, sacct_jobs(name))
    assert not sacct_jobs("tables")
    assert not squeue()


def trainer_processes(run_dir: Path) -> list:
    import psutil

    return [p for p in psutil.process_iter(["cmdline"])
            if "curiosft.verl_ext.sft_worker" in " ".join(p.info["cmdline"] or []) and str(run_dir) in
            " ".join(p.info["cmdline"])]


def test_timeout_signal_during_a_save_stops_cleanly_requeues_and_resumes(smoke_world, tmp_path):
    """The time-limit signal lands while a checkpoint is being written: the save finishes, the trainer stops
    right after it (exit 0, nothing trained past it), the job requeues itself, and the requeued job resumes
    at the next step and completes the run. (Before: torchrun died on the signal, exit -12, mid-save.)"""
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(sft_command(smoke_world, run_dir, "trainer.epochs=3", "trainer.max_steps=16",
                                        "trainer.save_freq=2"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    job_id = wait_for(lambda: (run_dir / "slurm" / "job.json").is_file() and
                      json.loads((run_dir / "slurm" / "job.json").read_text())["job_id"], 60, "the submission")
    tracker = run_dir / "checkpoints" / "latest_checkpointed_iteration.txt"

    def saved() -> int:
        return int(tracker.read_text()) if tracker.is_file() else 0

    # freeze the trainer while it writes a checkpoint: its folder is there, verl's tracker does not name it yet
    caught = None
    for step in range(4, 16, 2):
        wait_for(lambda step=step: (run_dir / "checkpoints" / f"global_step_{step}").is_dir() or saved() >= step, 300,
                 f"the save of step {step}", interval=0.005)
        trainers = trainer_processes(run_dir)
        for p in trainers:
            p.send_signal(signal.SIGSTOP)
        if saved() < step:
            caught = step
            break
        for p in trainers:
            p.send_signal(signal.SIGCONT)
    assert caught, "no checkpoint save was caught in progress"
    # what SLURM sends before the time limit (sbatch --signal=USR2@launcher.signal_delay_s), to every process
    subprocess.run(["scancel", "--signal=USR2", str(job_id)], check=True)
    wait_for(lambda: (run_dir / "stop.request").is_file(), 60, "the job's stop request")
    for p in trainers:
        p.send_signal(signal.SIGCONT)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-4000:]
    assert steps(run_dir) == list(range(1, 17))
    attempts = sorted(run_dir.glob("metrics.attempt-*.jsonl"))
    assert len(attempts) == 2, attempts
    first, resumed = ([json.loads(line)["step"] for line in a.read_text().splitlines()] for a in attempts)
    assert first[-1] == caught, (first, caught)  # the save in progress finished; no step trained after it
    assert resumed[0] == caught + 1 and resumed[-1] == 16, resumed

    # the same SLURM job, requeued (not a second submission)
    def history() -> list[str]:
        return subprocess.run(["sacct", "-n", "-X", "-P", "--duplicates", "-j", str(job_id), "-o", "State"],
                              capture_output=True, text=True, check=True).stdout.split()

    wait_for(lambda: history()[-1] == "COMPLETED", 60, "accounting to record the completion")
    assert history() == ["REQUEUED", "COMPLETED"], history()
    # the cost of both attempts: the job's own clocks, and SLURM's accounting once the job had ended
    cost = json.loads((run_dir / "manifest.json").read_text())["cost"]
    assert [a["finished"] for a in cost["attempts"]] == [False, True], cost
    assert cost["sacct"]["job_id"] == str(job_id) and cost["sacct"]["attempts"] == 2, cost
    assert cost["sacct"]["states"] == ["REQUEUED", "COMPLETED"] and cost["sacct"]["gpus"] == 0, cost
    assert cost["source"] == "sacct" and cost["wall_s"] == cost["sacct"]["elapsed_s"] > 0, cost


@pytest.mark.verl_rl
def test_verl_rl_stopped_by_the_time_limit_signal_requeues_and_completes(smoke_world, tmp_path):
    """verl's main_ppo (CPU, vLLM rollouts; the vLLM environment) in a SLURM job: the time-limit signal after
    step 2's checkpoint stops main_ppo at once (SIGTERM; it has no safe point), the job requeues itself, and
    the requeued job resumes from the tracker's step 2 and ends at the planned step 4."""
    run_dir = tmp_path / "rl"
    cmd = [sys.executable, "-m", "curiosft.cli", "rl", "--sft-model", str(smoke_world / "world" / "model"),
           "--out", str(run_dir), "experiment=smoke", f"paths.results={smoke_world}", "launcher=slurm", *FITS,
           "launcher.cpus_per_task=2", "launcher.mem_gb=6", "rl.backend=verl", "rl.max_steps=4", "rl.save_freq=2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    job_id = wait_for(lambda: (run_dir / "slurm" / "job.json").is_file() and
                      json.loads((run_dir / "slurm" / "job.json").read_text())["job_id"], 60, "the submission")
    first = run_dir / "metrics.attempt-001.jsonl"
    wait_for(lambda: first.is_file() and any(json.loads(line)["step"] == 2 for line in first.read_text().splitlines()),
             900, "step 2 of the first attempt")
    subprocess.run(["scancel", "--signal=USR2", str(job_id)], check=True)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-4000:]
    assert steps(run_dir) == [1, 2, 3, 4]
    resumed = [json.loads(line)["step"] for line in (run_dir / "metrics.attempt-002.jsonl").read_text().splitlines()]
    assert resumed == [3, 4], resumed
    assert (run_dir / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == "4"
    assert not (run_dir / "checkpoints" / "global_step_5").exists()

    def history() -> list[str]:
        return subprocess.run(["sacct", "-n", "-X", "-P", "--duplicates", "-j", str(job_id), "-o", "State"],
                              capture_output=True, text=True, check=True).stdout.split()

    wait_for(lambda: history()[-1] == "COMPLETED", 60, "accounting to record the completion")
    assert history() == ["REQUEUED", "COMPLETED"], history()


def test_interrupting_snakemake_cancels_its_slurm_jobs(repo, python, smoke_world, tmp_path):
    shutil.copytree(smoke_world / "world", tmp_path / "results" / "world")
    cmd = [python, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path), "--profile",
           str(repo / "profiles" / "slurm"), "--config", "experiment=smoke", f"overrides=[{','.join(FITS)}]"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    wait_for(lambda: any(state == "RUNNING" for _, _, state in squeue()), 300, "a running SLURM job")
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal: the whole foreground process group
    proc.communicate(timeout=120)
    wait_for(lambda: not squeue(), 60, "an empty queue after Ctrl-C")


def test_a_restarted_job_reattaches_instead_of_submitting_again(smoke_world, tmp_path):
    run_dir = tmp_path / "run"
    first = subprocess.Popen(sft_command(smoke_world, run_dir, "trainer.max_steps=8"), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    job_id = wait_for(lambda: (run_dir / "slurm" / "job.json").is_file() and
                      json.loads((run_dir / "slurm" / "job.json").read_text())["job_id"], 60, "the submission")
    first.kill()  # the waiting process dies without cancelling (e.g. the login node rebooted)
    first.wait()
    assert [job for job, _, _ in squeue()] == [str(job_id)]
    again = subprocess.run(sft_command(smoke_world, run_dir, "trainer.max_steps=8"), capture_output=True, text=True,
                           timeout=900)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"re-attaching to SLURM job {job_id}" in again.stdout
    assert steps(run_dir) == list(range(1, 9))
    assert len(sacct_jobs("curiosft-sft:" + "/".join(run_dir.parts[-3:]))) == 1
    assert not (run_dir / "slurm" / "job.json").exists()


def test_hydra_multirun_on_slurm(smoke_world, tmp_path):
    """hydra/launcher=curiosft_slurm: each run a SLURM job with launcher=slurm's request and time-limit
    signal (the plugin's own submitit_slurm asked for 60 minutes and no requeue), trained on its node."""
    proc = subprocess.run(
        [sys.executable, "-m", "curiosft.train", "-m", "hydra/launcher=curiosft_slurm", "experiment=smoke",
         "launcher=slurm", *FITS, "launcher.signal_delay_s=240", "method=sft,psft", "trainer.max_steps=2",
         f"paths.results={smoke_world}", f"hydra.sweep.dir={tmp_path}"],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for method in ("sft", "psft"):
        run = tmp_path / f"method~{method}" / "schedule~none" / "seed~1"
        assert (run / "model" / "config.json").is_file()
        # trained in the Hydra job itself: it never queued a second job and waited on it (it once did, and on
        # a full node the two waited on each other for ever)
        assert not (run / "slurm").exists()
    assert len(list((tmp_path / ".submitit").glob("*/*_result.pkl"))) == 2
    for script in (tmp_path / ".submitit").glob("*/*_submission.sh"):
        text = script.read_text()
        assert "#SBATCH --time=30" in text and "#SBATCH --signal=USR2@240" in text, text
        assert "#SBATCH --mem=2GB" in text and "#SBATCH --cpus-per-task=1" in text, text


def test_an_impossible_request_fails_before_anything_is_queued(smoke_world, tmp_path):
    before = subprocess.run(["sacct", "-n", "-X", "-o", "JobID"], capture_output=True, text=True).stdout
    proc = subprocess.run(sft_command(smoke_world, tmp_path / "run", "launcher.gpus_per_node=8"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "launcher.gpus_per_node=8 but its nodes have 0 GPUs" in proc.stderr
    proc = subprocess.run(sft_command(smoke_world, tmp_path / "run", "launcher.partition=h100"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "unknown SLURM partition launcher.partition='h100'" in proc.stderr
    after = subprocess.run(["sacct", "-n", "-X", "-o", "JobID"], capture_output=True, text=True).stdout
    assert before == after


def test_the_workflow_refuses_an_impossible_request_before_any_job(repo, python, tmp_path):
    cmd = [python, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(tmp_path), "--profile",
           str(repo / "profiles" / "slurm"), "--config", "experiment=smoke",
           f"overrides=[{','.join(FITS)},launcher.mem_gb=64]"]
    dry = subprocess.run([*cmd, "-n"], capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0  # a dry run queues nothing: it shows the plan
    real = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert real.returncode != 0
    assert "launcher.mem_gb=64 but its nodes have 7.8 GB" in real.stdout + real.stderr
    assert not (tmp_path / "results" / "world").exists() and not squeue()
