"""The time-limit signal: a job stops its work at a safe point, stops its children, then requeues.

Before a job's time limit (and on preemption, where the site configures it) SLURM sends the signal submitit
asks for, SIGUSR2 `launcher.signal_delay_s` seconds ahead, to *every* process of the job step. Left alone,
that signal's default action kills torchrun, its trainer processes, the reward server and the scoring
workers wherever they are: torchrun exits -12, a checkpoint save is cut in half, a killed scoring worker
scores its item 0. So:

- Every child a stage starts ignores the signal (`spawn_ignoring_time_limit_signal`: the ignored
  disposition is inherited through fork and exec, down to torchrun's workers and the reward server's pool).
- Inside `stop_at_a_safe_point()` the job's own handler only records the signal. The stage tells its
  child to stop (the SFT trainer through a stop file it checks after every step and every save: it saves
  the step it is at, as verl would at its last step, and exits 0; verl's PPO trainer, which has no such
  point, is stopped with SIGTERM) and waits for it, then the block raises `StageStopped`.
- Leaving the block after a stop, the handler that was there before runs: submitit's, which pickles the job
  (`StageJob.checkpoint`), requeues it with `scontrol requeue` and exits; the requeued job resumes from the
  checkpoint verl's tracker names (curiosft.runs.latest_checkpoint). Outside SLURM `StageStopped` reaches
  the command line: run the same command again to resume.

A child that has not stopped `stop_grace_s` after the signal (a step or save longer than the margin) gets
SIGTERM, then SIGKILL: the requeue must happen before the time limit, and a save cut then is harmless,
since only a checkpoint that verl's tracker names counts.

Stages without children (evaluation) keep submitit's handler: it requeues at once; their outputs are written
atomically (curiosft.io), and their scoring workers ignore the signal too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from curiosft.errors import StageStopped

TIME_LIMIT_SIGNAL = signal.SIGUSR2  # submitit's SlurmJobEnvironment.USR_SIG
STOP_FILE_ENV = "CURIOSFT_STOP_FILE"  # the file a trainer polls; its existence asks it to stop
DEFAULT_GRACE_S = 60.0
# what is left between the stop deadline and the time limit: SIGTERM/SIGKILL of a child, scontrol requeue
REQUEUE_MARGIN_S = 30.0
KILL_AFTER_TERM_S = 15.0


def stop_grace_s(launcher) -> float:
    """Seconds a stopping child gets after the signal: the signal's lead time (`launcher.signal_delay_s`)
    minus REQUEUE_MARGIN_S; DEFAULT_GRACE_S for launchers that send no signal."""
    delay = launcher.get("signal_delay_s") if hasattr(launcher, "get") else getattr(launcher, "signal_delay_s", None)
    return DEFAULT_GRACE_S if delay is None else max(float(delay) - REQUEUE_MARGIN_S, 1.0)


def ignore_time_limit_signal() -> None:
    """For pool initializers: this process leaves the decision to stop to the job (a scoring worker killed
    by the signal would score its item 0)."""
    signal.signal(TIME_LIMIT_SIGNAL, signal.SIG_IGN)


def spawn_ignoring_time_limit_signal(cmd: list[str], **popen_kwargs) -> subprocess.Popen:
    """subprocess.Popen(cmd, ...) whose process (and everything it starts) ignores TIME_LIMIT_SIGNAL.

    The parent ignores the signal for the instant of the fork (a preexec_fn could deadlock in a process
    with threads); called off the main thread, where Python cannot set handlers, it starts cmd unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        return subprocess.Popen(cmd, **popen_kwargs)
    previous = signal.signal(TIME_LIMIT_SIGNAL, signal.SIG_IGN)
    try:
        return subprocess.Popen(cmd, **popen_kwargs)
    finally:
        signal.signal(TIME_LIMIT_SIGNAL, previous)


class StopRequest:
    """Whether, and since when, the time-limit signal asked this job to stop."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.since: float | None = None  # time.monotonic()

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def record(self, signum: int, frame=None) -> None:
        if self.signum is None:
            self.signum, self.since = signum, time.monotonic()
            print(f"curiosft: {signal.Signals(signum).name} (time limit or preemption): stopping at the next "
                  "safe point, then requeueing", flush=True)


class stop_at_a_safe_point:  # noqa: N801 - used as a context manager, like contextlib's
    """`with stop_at_a_safe_point() as stop:` TIME_LIMIT_SIGNAL only sets `stop.requested` in the block.

    If the block ends with an exception after a stop was requested (the stage raised StageStopped, or its
    child failed while stopping), the signal's previous handler runs (submitit: checkpoint, requeue, exit);
    without one, StageStopped is raised. A block that finishes its work anyway returns normally: the stage
    is done, nothing to requeue. Nested blocks share the outer request; off the main thread it records nothing.
    """

    _active: StopRequest | None = None

    def __enter__(self) -> StopRequest:
        self._outer = stop_at_a_safe_point._active
        if self._outer is not None or threading.current_thread() is not threading.main_thread():
            return self._outer or StopRequest()
        self.request = stop_at_a_safe_point._active = StopRequest()
        self._previous = signal.signal(TIME_LIMIT_SIGNAL, self.request.record)
        return self.request

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._outer is not None or not hasattr(self, "request"):
            return False
        stop_at_a_safe_point._active = None
        signal.signal(TIME_LIMIT_SIGNAL, self._previous)
        if not self.request.requested or exc_type is None:
            return False
        if callable(self._previous):
            self._previous(self.request.signum, None)  # submitit's checkpoint_and_try_requeue: exits on rank 0
        if isinstance(exc, StageStopped):
            return False
        raise StageStopped(f"stopped by {signal.Signals(self.request.signum).name} ({exc}); run the same command "
                           "again to resume from the last complete checkpoint") from exc


# the pid of the job that started a process (run_until_stopped sets it for its child and everything below it)
JOB_PID_ENV = "CURIOSFT_JOB_PID"


def ending_with_this_job(env: dict) -> dict:
    """`env` for a child that must end with this process (it calls `exit_with_the_job`): adds $CURIOSFT_JOB_PID."""
    return {**env, JOB_PID_ENV: str(os.getpid())}


def exit_with_the_job(interval_s: float = 1.0, *, terminate_first_s: float | None = None
                      ) -> threading.Thread | None:
    """In a process a job started (the SFT trainer, the reward server): a daemon thread that ends this process
    (exit status 137, no cleanup) within `interval_s` of the job's end, however it ended. With
    `terminate_first_s` the process first gets SIGTERM (its own handlers clean up: Ray's driver shuts its
    cluster down) and is ended that many seconds later if it is still there.

    torchrun starts its trainers in their own session, so a job killed by SIGKILL (the OOM killer, `kill -9`,
    a laptop's snakemake killed) would leave them training on, and writing checkpoints, beside the next
    attempt. SLURM's cgroup kill takes them all; elsewhere this does. No-op without $CURIOSFT_JOB_PID."""
    pid = os.environ.get(JOB_PID_ENV)
    if not pid:
        return None
    import psutil

    try:
        job = psutil.Process(int(pid))
    except psutil.NoSuchProcess:
        os._exit(137)

    def watch():
        while job.is_running() and job.status() != psutil.STATUS_ZOMBIE:
            time.sleep(interval_s)
        if terminate_first_s is not None:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(terminate_first_s)
        os._exit(137)

    thread = threading.Thread(target=watch, name="curiosft-exit-with-the-job", daemon=True)
    thread.start()
    return thread


def run_until_stopped(cmd: list[str], env: dict, log=None, *, stop: StopRequest | None = None,
                      stop_file: Path | None = None, grace_s: float = DEFAULT_GRACE_S) -> int:
    """Run cmd to its end and return its exit code. SIGTERM/SIGINT to this process are passed on to it
    (torchrun and Ray then stop their workers). The child ignores TIME_LIMIT_SIGNAL; once `stop` is requested
    it is asked to stop: by creating `stop_file` (which the child watches: `STOP_FILE_ENV` names it), or by
    SIGTERM when there is none; after `grace_s` seconds it gets SIGTERM, then SIGKILL."""
    if stop_file is not None:
        Path(stop_file).unlink(missing_ok=True)  # a stop asked of an earlier attempt
        env = {**env, STOP_FILE_ENV: str(stop_file)}
    env = ending_with_this_job(env)
    proc = spawn_ignoring_time_limit_signal(cmd, env=env, stdout=log, stderr=subprocess.STDOUT if log else None)

    def forward(signum, frame):
        proc.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    asked, terminated = False, None
    try:
        while True:
            try:
                return proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                pass
            if stop is None or not stop.requested:
                continue
            now = time.monotonic()
            if not asked:
                asked = True
                if stop_file is not None:
                    Path(stop_file).touch()
                else:
                    proc.terminate()
                    terminated = now
            if terminated is None and now - stop.since > grace_s:
                print(f"curiosft: the child has not stopped {grace_s:g} s after the signal; SIGTERM", flush=True)
                proc.terminate()
                terminated = now
            if terminated is not None and now - terminated > KILL_AFTER_TERM_S:
                _kill_tree(proc.pid)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if stop_file is not None:
            Path(stop_file).unlink(missing_ok=True)


def _kill_tree(pid: int) -> None:
    """SIGKILL a process and its descendants (torchrun's workers would outlive torchrun otherwise)."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for p in processes:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
