"""Whether a job the time-limit signal reached is requeued: the time-out count follows progress.

submitit requeues a job on the signal (USR2, `launcher.signal_delay_s` before the limit) when its callable's
`checkpoint()` says so. A fixed number of time-outs (submitit's max_num_timeout; the Hydra plugin's default
is none at all) fails a long run however much it trained, and requeues a stuck one to no end. Here:

- preempted (the signal came before the time limit was near): requeued, always; PREEMPTED is a requeue;
- timed out, and a new checkpoint was saved since the job's last time-out: requeued (it resumes there);
- timed out without a new checkpoint (or an evaluation, which does not resume): not requeued; the reason,
  naming the setting to change, goes to the job's log and the job fails with it.

The steps reached at each time-out are kept in <run>/time_limits.json (they must outlive the attempt).
docs/slurm.md ("Preemption and time limits").
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from curiosft.io import write_json

TIME_LIMITS = "time_limits.json"
# submitit's own count (max_num_timeout): set so high that only the progress rule decides
UNCOUNTED_TIMEOUTS = 1_000_000


def timed_out(started: float, timeout_min: float, now: float | None = None) -> bool:
    """submitit's rule (SignalHandler.has_timed_out): the signal is the time limit's when the attempt has run
    at least min(80% of the limit, the limit - 10 min); earlier, it is a preemption."""
    limit_s = float(timeout_min) * 60
    return ((time.time() if now is None else now) - started) >= min(0.8 * limit_s, limit_s - 600)


def no_requeue_reason(run_dir: str | Path | None, *, timed_out: bool, timeout_min: float) -> str | None:
    """None to requeue the job, else why not. `run_dir`: the training run's folder (None: an evaluation)."""
    if not timed_out:
        return None
    if run_dir is None:
        return (f"an evaluation job does not resume, and it reached its time limit of {timeout_min:g} min; raise "
                "launcher.timeout_min (or lower eval.limit / eval.n_samples)")
    from curiosft.runs import checkpoint_step, latest_checkpoint

    run_dir = Path(run_dir)
    latest = latest_checkpoint(run_dir)
    step = None if latest is None else checkpoint_step(latest)
    path = run_dir / TIME_LIMITS
    steps = json.loads(path.read_text())["steps"] if path.is_file() else []
    write_json(path, {"steps": [*steps, step]})
    fix = "raise launcher.timeout_min, or save more often (trainer.save_freq / rl.save_freq)"
    if step is None:
        return f"no checkpoint saved in {timeout_min:g} min; {fix}"
    if steps and steps[-1] is not None and step <= steps[-1]:
        return f"no new checkpoint since the last time limit (still step {step}); {fix}"
    return None
