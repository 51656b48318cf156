"""A run interrupted and started again ends where an unbroken run ends: the same steps, the same metrics at
every step and the same weights, bit for bit (the CPU path is deterministic: one process, gloo, fp32).

Interrupted at chosen moments of a CurioSFT run (2 epochs of 8 steps, a checkpoint every 4, so step 8's
is the epoch boundary; the teacher state travels with each checkpoint):
- SIGKILL of the whole job between steps (a node failure);
- SIGKILL during a checkpoint save (the job frozen after the teacher file, before verl's tracker);
- SIGKILL right after the checkpoint on the epoch's last batch (resuming there: verl issue 7401);
- the time-limit signal (SIGUSR2 to every process, as SLURM sends it) between steps, and during a save.
Only timing metrics (perf/*, train/mfu) may differ.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.verl

EXTRA = ("method=curiosft", "schedule=entropy_guided", "trainer.epochs=2", "trainer.max_steps=null",
         "trainer.save_freq=4")
STEPS = list(range(1, 17))
TIMING = ("perf/", "train/mfu")


def command(results: Path, run_dir: Path) -> list[str]:
    return [sys.executable, "-m", "curiosft.cli", "sft", "--out", str(run_dir), "experiment=smoke",
            f"paths.results={results}", *EXTRA]


def start(results: Path, run_dir: Path) -> subprocess.Popen:
    run_dir.mkdir(parents=True, exist_ok=True)
    # its own process group: the signals below go to the job and everything it started, as SLURM's do
    return subprocess.Popen(command(results, run_dir), stdout=open(run_dir.parent / f"{run_dir.name}.log", "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def finish(results: Path, run_dir: Path) -> None:
    proc = subprocess.run(command(results, run_dir), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def wait_for(condition, what: str, timeout: float = 300, interval: float = 0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def tracker(run_dir: Path) -> int:
    path = run_dir / "checkpoints" / "latest_checkpointed_iteration.txt"
    return int(path.read_text()) if path.is_file() else 0


def logged_steps(run_dir: Path, attempt: int = 1) -> list[int]:
    from curiosft.runs import read_attempt

    # read while the trainer writes: the last line may be half-written (read_attempt leaves it out)
    path = run_dir / f"metrics.attempt-{attempt:03d}.jsonl"
    return [record["step"] for record in read_attempt(path)] if path.is_file() else []


def tree(proc: subprocess.Popen, *, children_only: bool = False) -> list[psutil.Process]:
    root = psutil.Process(proc.pid)
    return root.children(recursive=True) + ([] if children_only else [root])


def signal_all(processes: list[psutil.Process], signum: int) -> None:
    for p in processes:
        try:
            p.send_signal(signum)
        except psutil.NoSuchProcess:
            pass


def freeze_during_a_save(proc: subprocess.Popen, run_dir: Path, *, children_only: bool = False) -> int:
    """SIGSTOP the trainer (and the job unless children_only) while a checkpoint is being written: its
    teacher file is there (written first), verl's tracker does not name it yet. Returns the step saved."""
    for step in (4, 8, 12):
        teacher = run_dir / "checkpoints" / f"global_step_{step}" / "curiosft_teacher_rank0.pt"
        wait_for(lambda teacher=teacher, step=step: teacher.is_file() or tracker(run_dir) >= step,
                 f"the save of step {step}")
        frozen = tree(proc, children_only=children_only)
        signal_all(frozen, signal.SIGSTOP)
        if tracker(run_dir) < step:
            return step
        signal_all(frozen, signal.SIGCONT)  # this save was too quick to catch; the next one
    pytest.fail("no checkpoint save was caught in progress")


@pytest.fixture(scope="module")
def unbroken(smoke_world, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("unbroken") / "run"
    finish(smoke_world, run_dir)
    return run_dir


def assert_same_run(run_dir: Path, unbroken: Path) -> None:
    from safetensors.torch import load_file

    def metrics(path: Path) -> list[dict]:
        return [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]

    resumed, expected = metrics(run_dir), metrics(unbroken)
    assert [m["step"] for m in resumed] == [m["step"] for m in expected] == STEPS
    for got, want in zip(resumed, expected):
        for key in set(got["data"]) | set(want["data"]):
            if not key.startswith(TIMING):
                assert got["data"].get(key) == want["data"].get(key), (got["step"], key)
    weights, expected_weights = (load_file(p / "model" / "model.safetensors") for p in (run_dir, unbroken))
    assert weights.keys() == expected_weights.keys()
    for name, tensor in weights.items():
        assert tensor.dtype == expected_weights[name].dtype and tensor.equal(expected_weights[name]), name


def resume_to_the_same_end(results: Path, run_dir: Path, unbroken: Path, *, first_step: int) -> None:
    """Start the interrupted run again: it trains from `first_step` and ends as the unbroken run did."""
    finish(results, run_dir)
    assert logged_steps(run_dir, 2)[0] == first_step
    assert_same_run(run_dir, unbroken)


@pytest.mark.parametrize("moment,reached,checkpoint", [
    ("between steps", lambda run_dir: len(logged_steps(run_dir)) >= 6, 4),
    # the checkpoint on epoch 1's last batch: resuming there restored an exhausted data loader (verl 7401)
    ("after the checkpoint at the epoch boundary", lambda run_dir: tracker(run_dir) >= 8, 8),
])
def test_killed(smoke_world, unbroken, tmp_path, moment, reached, checkpoint):
    run_dir = tmp_path / "run"
    proc = start(smoke_world, run_dir)
    wait_for(lambda: reached(run_dir), moment)
    signal_all(tree(proc), signal.SIGKILL)
    proc.wait()
    assert tracker(run_dir) == checkpoint
    resume_to_the_same_end(smoke_world, run_dir, unbroken, first_step=checkpoint + 1)


def test_killed_during_a_checkpoint_save(smoke_world, unbroken, tmp_path):
    run_dir = tmp_path / "run"
    proc = start(smoke_world, run_dir)
    step = freeze_during_a_save(proc, run_dir)
    signal_all(tree(proc), signal.SIGKILL)
    proc.wait()
    assert tracker(run_dir) == step - 4  # the cut save does not count
    resume_to_the_same_end(smoke_world, run_dir, unbroken, first_step=step - 3)


def stopped(proc: subprocess.Popen, run_dir: Path) -> str:
    """The job after the time-limit signal: it ends on its own, the trainer having exited 0, and says so."""
    assert proc.wait(timeout=120) != 0
    log = (run_dir.parent / f"{run_dir.name}.log").read_text()
    assert "SFT run stopped (exit 0)" in log, log[-3000:]
    assert not (run_dir / "stop.request").exists()
    return log


def test_time_limit_signal_between_steps(smoke_world, unbroken, tmp_path):
    run_dir = tmp_path / "run"
    proc = start(smoke_world, run_dir)
    wait_for(lambda: len(logged_steps(run_dir)) >= 5, "step 5")
    os.killpg(proc.pid, signal.SIGUSR2)  # the job, torchrun and the trainer all get it
    log = stopped(proc, run_dir)
    last = logged_steps(run_dir)[-1]
    assert f"stopping at step {last} of 16: saving it" in log
    assert tracker(run_dir) == last  # the step it stopped at is saved: nothing is trained twice
    resume_to_the_same_end(smoke_world, run_dir, unbroken, first_step=last + 1)


def test_time_limit_signal_during_a_checkpoint_save(smoke_world, unbroken, tmp_path):
    run_dir = tmp_path / "run"
    proc = start(smoke_world, run_dir)
    step = freeze_during_a_save(proc, run_dir, children_only=True)
    os.killpg(proc.pid, signal.SIGUSR2)  # pending in the frozen trainer, handled by the job
    wait_for(lambda: (run_dir / "stop.request").is_file(), "the job's stop request")
    signal_all(tree(proc, children_only=True), signal.SIGCONT)
    log = stopped(proc, run_dir)
    assert f"stopping after the checkpoint of step {step}" in log
    assert tracker(run_dir) == step and logged_steps(run_dir)[-1] == step  # the save finished, no step after it
    resume_to_the_same_end(smoke_world, run_dir, unbroken, first_step=step + 1)
