"""The time-limit signal (curiosft.preemption): what the job does with it, and that the processes it starts
(trainers, the reward server, scoring workers) leave it to the job. The whole path through verl's trainer:
tests/test_resume_equivalence.py; through local GRPO: tests/test_rl.py; under SLURM: tests/test_slurm.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from curiosft.errors import StageStopped
from curiosft.preemption import (
    TIME_LIMIT_SIGNAL,
    run_until_stopped,
    spawn_ignoring_time_limit_signal,
    stop_at_a_safe_point,
    stop_grace_s,
)

PRINT_DISPOSITION = "import signal; print(signal.getsignal(signal.SIGUSR2).name)"


def test_children_and_their_children_ignore_the_signal_and_the_parent_keeps_its_handler():
    grandchild = (f"import subprocess, sys; print(subprocess.run([sys.executable, '-c', {PRINT_DISPOSITION!r}], "
                  "capture_output=True, text=True).stdout.strip())")
    before = signal.getsignal(TIME_LIMIT_SIGNAL)
    proc = spawn_ignoring_time_limit_signal([sys.executable, "-c", grandchild], stdout=subprocess.PIPE, text=True)
    assert proc.communicate(timeout=60)[0].strip() == "SIG_IGN"
    assert signal.getsignal(TIME_LIMIT_SIGNAL) == before
    plain = subprocess.run([sys.executable, "-c", PRINT_DISPOSITION], capture_output=True, text=True)
    assert plain.stdout.strip() == "SIG_DFL"  # what torchrun had before: the signal killed it


def test_in_the_block_the_signal_only_records_then_the_previous_handler_runs():
    """submitit's handler (here a function that records its call) runs after the stage stopped, not when
    the signal arrives; a block that finishes its work anyway does not requeue."""
    calls = []
    previous = signal.signal(TIME_LIMIT_SIGNAL, lambda signum, frame: calls.append(signum))
    try:
        with pytest.raises(StageStopped):
            with stop_at_a_safe_point() as stop:
                os.kill(os.getpid(), TIME_LIMIT_SIGNAL)
                time.sleep(0.05)
                assert stop.requested and calls == []
                raise StageStopped("stopped at step 3")
        assert calls == [TIME_LIMIT_SIGNAL]
        with stop_at_a_safe_point() as stop:
            os.kill(os.getpid(), TIME_LIMIT_SIGNAL)
            time.sleep(0.05)
        assert stop.requested and calls == [TIME_LIMIT_SIGNAL]  # finished: nothing to requeue
        assert signal.getsignal(TIME_LIMIT_SIGNAL) is not None and len(calls) == 1
    finally:
        signal.signal(TIME_LIMIT_SIGNAL, previous)


def test_a_failure_while_stopping_becomes_a_stop_and_a_signal_outside_a_job_stops_the_stage():
    previous = signal.signal(TIME_LIMIT_SIGNAL, signal.SIG_DFL)
    try:
        with pytest.raises(StageStopped, match="stopped by SIGUSR2 .*run the same command again"):
            with stop_at_a_safe_point():
                os.kill(os.getpid(), TIME_LIMIT_SIGNAL)  # SIG_DFL would have killed this process
                time.sleep(0.05)
                raise RuntimeError("main_ppo exited -15")
        assert signal.getsignal(TIME_LIMIT_SIGNAL) == signal.SIG_DFL
    finally:
        signal.signal(TIME_LIMIT_SIGNAL, previous)


def test_a_child_that_does_not_stop_gets_sigterm_after_the_grace_then_sigkill(tmp_path):
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    with pytest.raises(StageStopped):
        with stop_at_a_safe_point() as stop:
            os.kill(os.getpid(), TIME_LIMIT_SIGNAL)
            started = time.monotonic()
            code = run_until_stopped([sys.executable, "-c", stubborn], dict(os.environ), stop=stop,
                                     stop_file=tmp_path / "stop.request", grace_s=1.0)
            elapsed = time.monotonic() - started
            raise StageStopped(f"exit {code}")
    assert code == -signal.SIGKILL and 1.0 <= elapsed < 60
    assert not (tmp_path / "stop.request").exists()


def test_stop_grace_leaves_the_requeue_margin():
    assert stop_grace_s({"signal_delay_s": 300}) == 270
    assert stop_grace_s({"name": "local"}) == 60


def test_scoring_workers_survive_the_signal_instead_of_scoring_zero():
    from curiosft.scoring.pool import ScoreItem, ScoringPool

    # answers the parent cannot decide alone: graded in the workers
    items = [ScoreItem("\\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{1}{\\sqrt{2}}"), ScoreItem("\\boxed{2^{10}}", "1024")]
    with ScoringPool(workers=2, timeout_s=30) as pool:
        assert [g.score for g in pool.score(items)] == [1.0, 1.0]
        workers = [p for p in psutil.Process().children() if "resource_tracker" not in " ".join(p.cmdline())]
        assert workers
        for worker in workers:
            worker.send_signal(TIME_LIMIT_SIGNAL)
        time.sleep(0.5)
        assert all(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
        grades = pool.score(items)
    assert [g.score for g in grades] == [1.0, 1.0], [g.reason for g in grades]


def test_the_reward_server_survives_the_signal():
    from curiosft.reward.client import RewardClient
    from curiosft.reward.lifecycle import reward_service

    with reward_service(workers=1, timeout_s=5.0) as url:
        port = int(url.rsplit(":", 1)[1])
        server = next(c.pid for c in psutil.net_connections("tcp") if c.laddr.port == port and c.status == "LISTEN")
        for p in [psutil.Process(server), *psutil.Process(server).children(recursive=True)]:
            p.send_signal(TIME_LIMIT_SIGNAL)
        time.sleep(0.5)
        scores = RewardClient(url).score([{"response": "</think>\\boxed{4}", "ground_truth": "4"}])
    assert scores[0]["score"] == 1.0


def _processes_naming(text: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any(text in part for part in p.info["cmdline"] or []):
                found.append(p)
        except psutil.Error:
            pass
    return found


def _wait_gone(text: str, timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while (alive := [p for p in _processes_naming(text) if p.status() != psutil.STATUS_ZOMBIE]) and \
            time.monotonic() < deadline:
        time.sleep(0.2)
    return alive


def test_a_sigkilled_sft_job_takes_its_trainer_with_it(smoke_world, tmp_path):
    """torchrun starts the trainer in its own session: before, SIGKILL to the job (the OOM killer, kill -9)
    left it training on and writing checkpoints beside the next attempt. Now it ends within seconds."""
    run_dir = tmp_path / "run"
    job = subprocess.Popen([sys.executable, "-m", "curiosft.cli", "sft", "--out", str(run_dir), "experiment=smoke",
                            f"paths.results={smoke_world}", "trainer.epochs=50", "trainer.max_steps=400"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while not (run_dir / "metrics.attempt-001.jsonl").is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    trainer = [p for p in _processes_naming("curiosft.verl_ext.sft_worker")
               if str(run_dir) in p.cmdline() and "torch.distributed.run" not in p.cmdline()]
    assert trainer and trainer[0].pid != job.pid and os.getsid(trainer[0].pid) != os.getsid(job.pid)
    job.kill()  # the job alone, as the OOM killer would
    job.wait()
    assert not _wait_gone(str(run_dir), 30), "the trainer (or torchrun) lived on after its job"


def test_a_sigkilled_job_takes_its_reward_server_with_it(tmp_path):
    code = ("import time; from curiosft.reward.lifecycle import reward_service\n"
            "with reward_service(workers=1, timeout_s=5.0) as url:\n    print(url, flush=True); time.sleep(600)")
    job = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    url = job.stdout.readline().strip()
    port = int(url.rsplit(":", 1)[1])
    server = next(c.pid for c in psutil.net_connections("tcp") if c.laddr.port == port and c.status == "LISTEN")
    job.kill()
    job.wait()
    assert psutil.wait_procs([psutil.Process(server)], timeout=15)[1] == [], "the reward server outlived its job"
