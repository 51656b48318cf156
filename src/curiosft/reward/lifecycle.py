"""Start a reward server for one job and stop it after: no manual step, no leftover process.

    with reward_service(workers=4) as url:      # or reward_service(url="http://...") to reuse one
        ...  # RewardClient(url) / verl's compute_score(url=url)

The server runs as `python -m curiosft.cli serve-reward --port 0 --ready-file F` in its own process
group; it binds a free loopback port itself (no race with other jobs) and writes it to F once its
scoring pool is up. Leaving the block sends SIGTERM (graceful: requests in flight finish), then SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from curiosft.defaults import GRADING_TIMEOUT_S, GRADING_WORKERS
from curiosft.errors import CuriosftError
from curiosft.preemption import ending_with_this_job, spawn_ignoring_time_limit_signal
from curiosft.reward.client import TOKEN_ENV, RewardClient, RewardServerError
from curiosft.scoring.graders import DEFAULT_GRADER, get_grader


class RewardServerStartError(CuriosftError, RuntimeError):
    pass


@contextmanager
def reward_service(*, url: str | None = None, workers: int = GRADING_WORKERS, timeout_s: float = GRADING_TIMEOUT_S,
                   token: str | None = None, grader: str = DEFAULT_GRADER, host: str = "127.0.0.1",
                   log: str | os.PathLike | None = None, max_body_bytes: int | None = None,
                   start_timeout_s: float = 120.0) -> Iterator[str]:
    """Yield the URL of a running reward server: `url` as given (it must grade with `grader`: checked on its
    /health, RewardServerError otherwise), or one started here for the block with `grader`."""
    if url:
        check_server_grader(url.rstrip("/"), grader, token)
        yield url.rstrip("/")
        return
    with tempfile.TemporaryDirectory(prefix="curiosft-reward-") as tmp:
        ready = Path(tmp) / "ready.json"
        log_path = Path(log) if log else Path(tmp) / "server.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "curiosft.cli", "serve-reward", "--host", host, "--port", "0",
               "--workers", str(workers), "--timeout", str(timeout_s), "--grader", grader,
               "--ready-file", str(ready)]
        if max_body_bytes:
            cmd += ["--max-body-bytes", str(max_body_bytes)]
        env = ending_with_this_job(os.environ)  # the server ends with its job, however the job ends
        if token:
            env[TOKEN_ENV] = token
        with open(log_path, "ab") as log_file:
            # the time-limit signal is the job's to act on: it stops training first, then this server
            proc = spawn_ignoring_time_limit_signal(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                                    start_new_session=True)
        try:
            port = _wait_ready(proc, ready, log_path, start_timeout_s)
            yield f"http://{host}:{port}"
        finally:
            stop(proc)


def check_server_grader(url: str, grader: str, token: str | None = None) -> None:
    """RewardServerError unless the server at `url` grades with `grader` (name and version, from /health):
    the rewards must come from the grader the run's tables use."""
    import requests

    wanted = get_grader(grader)
    try:
        health = RewardClient(url, token=token).health()
    except requests.RequestException as exc:
        raise RewardServerError(f"reward server {url} does not answer GET /health ({type(exc).__name__}); start it "
                                f"(curiosft serve-reward) or set rl.reward.url=null to start one per job") from None
    served = f"{health.get('grader', 'unknown')}-{health.get('grader_version', '?')}"
    if served != wanted.tag:
        raise RewardServerError(f"reward server {url} grades with {served}, the run with {wanted.tag} "
                                f"(scoring.grader={grader}); restart it with --grader {grader} or set "
                                f"scoring.grader to the server's")


def _wait_ready(proc: subprocess.Popen, ready: Path, log_path: Path, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready.is_file():
            return int(json.loads(ready.read_text())["port"])
        if proc.poll() is not None:
            raise RewardServerStartError(f"reward server exited with code {proc.returncode} before it was ready; "
                                         f"its log ({log_path}):\n{_tail(log_path)}")
        time.sleep(0.05)
    stop(proc)
    raise RewardServerStartError(f"reward server not ready after {timeout_s:g} s; its log ({log_path}):\n"
                                 f"{_tail(log_path)}")


def stop(proc: subprocess.Popen, grace_s: float = 20.0) -> None:
    """SIGTERM the server (it finishes requests in flight and stops its pool), SIGKILL its whole process
    group if it has not exited after grace_s; any scoring worker left behind goes with the group."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
