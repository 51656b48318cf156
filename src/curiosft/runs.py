"""A training run's directory, shared by the SFT and RL stages: attempts' metrics, checkpoints, export.

    checkpoints/global_step_N/   verl's layout (SFT: huggingface/ inside; RL: actor/huggingface/)
    metrics.attempt-NNN.jsonl    what each attempt (start, restart, requeue) logged, verl file-logger lines
    metrics.jsonl                all attempts merged: one line per step, a later attempt's line wins;
                                 each line {"step", "run": {stage, method, schedule, seed}, "data"}
    progress.json                the run's total steps (a finished run is not trained again)
    model/                       the latest checkpoint's Hugging Face export
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from curiosft.errors import MissingInputError
from curiosft.io import atomic_path
from curiosft.runid import RunId

METRICS = "metrics.jsonl"


def next_attempt(run_dir: Path) -> Path:
    """The metrics file of the attempt about to start."""
    attempts = sorted(run_dir.glob("metrics.attempt-*.jsonl"))
    return run_dir / f"metrics.attempt-{len(attempts) + 1:03d}.jsonl"


def merge_metrics(run_dir: Path, run: RunId, rename: Callable[[dict], dict] | None = None) -> int:
    """metrics.jsonl from every attempt; a later attempt's line for a step replaces an earlier one (a
    resumed run repeats the steps after its checkpoint). Every line carries the run's identity (`run`);
    `rename` maps each line's metric names. Returns the number of steps."""
    by_step: dict[int, dict] = {}
    for attempt in sorted(run_dir.glob("metrics.attempt-*.jsonl")):
        for line in attempt.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                if rename is not None:
                    record["data"] = rename(record["data"])
                record["run"] = run.as_dict()
                by_step[int(record["step"])] = record
    with atomic_path(run_dir / METRICS) as tmp:
        tmp.write_text("".join(json.dumps(by_step[s], sort_keys=True) + "\n" for s in sorted(by_step)))
    return len(by_step)


def latest_checkpoint(run_dir: Path) -> Path | None:
    steps = [(int(m.group(1)), p) for p in (run_dir / "checkpoints").glob("global_step_*")
             if (m := re.fullmatch(r"global_step_(\d+)", p.name))]
    return max(steps)[1] if steps else None


def export_model(run_dir: Path, hf_subdir: str = "huggingface") -> Path:
    """Copy the latest checkpoint's Hugging Face export (SFT: global_step_N/huggingface; RL, as verl's PPO
    trainer lays it out: global_step_N/actor/huggingface) to run_dir/model, its generation_config.json
    listing the chat template's end-of-turn token among the eos ids (curiosft.stopping)."""
    from curiosft.stopping import save_stop_tokens

    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None or not (checkpoint / hf_subdir).is_dir():
        raise MissingInputError(f"no Hugging Face export under {run_dir / 'checkpoints'}; did training finish?")
    with atomic_path(run_dir / "model") as tmp:
        shutil.copytree(checkpoint / hf_subdir, tmp)
        save_stop_tokens(tmp)
    return run_dir / "model"


def is_complete(run_dir: Path) -> bool:
    """The latest checkpoint is the run's last step (resuming it would make verl train one step more)."""
    progress, checkpoint = run_dir / "progress.json", latest_checkpoint(run_dir)
    if not progress.is_file() or checkpoint is None:
        return False
    total = json.loads(progress.read_text())["total_training_steps"]
    return int(checkpoint.name.removeprefix("global_step_")) >= int(total)


def run_forwarding_signals(cmd: list[str], env: dict, log=None) -> int:
    """Run cmd; SIGTERM/SIGINT to this process stop it too (torchrun or Ray then stop their workers)."""
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT if log else None)

    def forward(signum, frame):
        proc.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return proc.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
