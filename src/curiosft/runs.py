"""A training run's directory, shared by the SFT and RL stages: attempts' metrics, checkpoints, export.

    checkpoints/global_step_N/   verl's layout (SFT: huggingface/ inside; RL: actor/huggingface/)
    checkpoints/latest_checkpointed_iteration.txt
                                 verl's tracker: the step of the last checkpoint whose save finished (the
                                 only one that counts: a global_step_N folder beyond it is a save that was
                                 in progress or cut off, e.g. holding only the CurioSFT teacher file)
    metrics.attempt-NNN.jsonl    what each attempt (start, restart, requeue) logged, verl file-logger lines
    metrics.jsonl                all attempts merged: one line per step, a later attempt's line wins;
                                 each line {"step", "run": {stage, method, schedule, seed}, "data"}
    progress.json                the run's total steps (a finished run is not trained again)
    model/                       the latest checkpoint's Hugging Face export; model/curiosft_step.json names
                                 its step (evaluation records carry it)
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from curiosft.errors import ConfigError, InputDataError, MissingInputError
from curiosft.io import atomic_path
from curiosft.runid import RunId

METRICS = "metrics.jsonl"
# stage -> where a checkpoint holds its Hugging Face export, below global_step_N (verl's SFT and PPO trainers)
HF_SUBDIRS = {"sft": "huggingface", "rl": "actor/huggingface"}


def next_attempt(run_dir: Path) -> Path:
    """The metrics file of the attempt about to start."""
    attempts = sorted(run_dir.glob("metrics.attempt-*.jsonl"))
    return run_dir / f"metrics.attempt-{len(attempts) + 1:03d}.jsonl"


def read_attempt(path: Path) -> list[dict]:
    """The complete lines of one attempt's metrics file, {"step", "data"} each, in the order logged.

    The file is written line by line while the attempt trains, so it may end in a torn line: the trainer was
    killed (SIGKILL, OOM, node failure) or is still writing it. A last line without its newline is not yet a
    line and is left out (its step is trained again after the resume: verl logs a step before saving its
    checkpoint). Anything else that does not parse is an InputDataError naming the file and line."""
    text = Path(path).read_text()
    lines = text.split("\n")[:-1]  # what follows the last newline is a line still being (or never) written
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            int(record["step"]), record["data"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InputDataError(f"{path}, line {number}, is not a metrics line ({exc}): {line[:80]!r}; delete the "
                                 "line (or the file, to lose that attempt's metrics) and run the job again") from None
        records.append(record)
    return records


# running totals a trainer keeps in memory only (verl's SFT trainer restarts "train/total_tokens(B)" at 0 on
# resume): name -> (the per-step metric it sums, the divisor verl reports it in); merge_metrics recomputes them
RUNNING_TOTALS = {"train/total_tokens(B)": ("train/global_tokens", 1e9)}


def merge_metrics(run_dir: Path, run: RunId, rename: Callable[[dict], dict] | None = None) -> int:
    """metrics.jsonl from every attempt; a later attempt's line for a step replaces an earlier one (a
    resumed run repeats the steps after its checkpoint), while lines of one attempt for the same step are one
    step's metrics (verl's trainers log validation as a second line at the step). Every line carries the run's
    identity (`run`); `rename` maps each line's metric names; RUNNING_TOTALS are summed again over the merged
    steps (a resumed run's equal an unbroken run's). Steps missing between the first and the last are named
    on stderr: verl's PPO trainer saves a checkpoint before it logs the step, so an attempt killed between
    the two resumes after a step that has no metrics. Returns the number of steps."""
    by_step: dict[int, dict] = {}
    for attempt in sorted(run_dir.glob("metrics.attempt-*.jsonl")):
        this_attempt: dict[int, dict] = {}
        for record in read_attempt(attempt):
            step = int(record["step"])
            this_attempt.setdefault(step, {"step": step, "data": {}})["data"].update(record["data"])
        by_step.update(this_attempt)
    for record in by_step.values():
        if rename is not None:
            record["data"] = rename(record["data"])
        record["run"] = run.as_dict()
    if by_step and (missing := sorted(set(range(min(by_step), max(by_step) + 1)) - set(by_step))):
        print(f"curiosft: warning: {run_dir} has no metrics for step(s) {', '.join(map(str, missing[:10]))}"
              f"{' ...' if len(missing) > 10 else ''}: an attempt stopped after saving the step's checkpoint and "
              "before logging it (the weights are right; the curves have a gap there)", file=sys.stderr)
    totals = dict.fromkeys(RUNNING_TOTALS, 0)
    for step in sorted(by_step):
        data = by_step[step]["data"]
        for total, (per_step, divisor) in RUNNING_TOTALS.items():
            if total in data and per_step in data:
                totals[total] += data[per_step]
                data[total] = totals[total] / divisor
    with atomic_path(run_dir / METRICS) as tmp:
        tmp.write_text("".join(json.dumps(by_step[s], sort_keys=True) + "\n" for s in sorted(by_step)))
    return len(by_step)


TRACKER = "latest_checkpointed_iteration.txt"


def check_steps_fit_the_data(max_steps: int | None, steps_per_epoch: int, epochs: int, section: str) -> None:
    """ConfigError, before the first step, when `<section>.max_steps` asks for more steps than `epochs` passes
    over the data give: verl would stop at the end of the data with exit 0, after a learning-rate schedule
    built for steps that never ran, and the job would export that model. The rule (docs/training.md): the
    data bounds a run; raise the epochs or lower max_steps."""
    available = steps_per_epoch * epochs
    if max_steps is not None and int(max_steps) > available:
        needed = -(-int(max_steps) // max(steps_per_epoch, 1))
        raise ConfigError(f"{section}.max_steps={int(max_steps)} is more than the data gives: {section}.epochs={epochs} "
                          f"x {steps_per_epoch} steps per epoch = {available} steps; lower {section}.max_steps to "
                          f"{available} or raise {section}.epochs to {needed}")


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint verl marked complete: checkpoints/global_step_N for the N its tracker file names (verl
    writes the tracker after a save has finished, and resumes from it: so do we). None before the first
    finished save. InputDataError when the tracker is unreadable or names a folder that is not there."""
    root = Path(run_dir) / "checkpoints"
    tracker = root / TRACKER
    if not tracker.is_file():
        return None
    text = tracker.read_text().strip()
    if not re.fullmatch(r"\d+", text):
        raise InputDataError(f"{tracker} holds {text[:40]!r}, not a step number; delete it to resume from the "
                             "last complete global_step_N (write its N there) or start the run afresh")
    checkpoint = root / f"global_step_{int(text)}"
    if not checkpoint.is_dir():
        raise InputDataError(f"{tracker} names step {text}, but {checkpoint} is missing; write the step of the "
                             "last complete global_step_N there, or start the run afresh")
    return checkpoint


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
        (tmp / STEP_FILE).write_text(json.dumps({"step": checkpoint_step(checkpoint)}) + "\n")
    return run_dir / "model"


STEP_FILE = "curiosft_step.json"


def checkpoint_step(checkpoint: Path) -> int:
    """global_step_N -> N."""
    return int(Path(checkpoint).name.removeprefix("global_step_"))


def model_step(model_dir: str | Path) -> int | None:
    """The training step an exported model folder holds (export_model's STEP_FILE; a verl checkpoint's
    global_step_N/huggingface or global_step_N/actor/huggingface), or None when it does not say."""
    model_dir = Path(model_dir)
    if (model_dir / STEP_FILE).is_file():
        return int(json.loads((model_dir / STEP_FILE).read_text())["step"])
    for parent in (model_dir.parent, model_dir.parent.parent):
        if re.fullmatch(r"global_step_\d+", parent.name):
            return checkpoint_step(parent)
    return None


def saved_steps(run_dir: Path, hf_subdir: str) -> list[int]:
    """The steps of the finished saves that hold a Hugging Face export (`hf_subdir` below global_step_N),
    in order: every global_step_N up to the one verl's tracker names (a folder beyond it is a save cut off)."""
    latest = latest_checkpoint(run_dir)
    if latest is None:
        return []
    last = checkpoint_step(latest)
    steps = [checkpoint_step(p) for p in (Path(run_dir) / "checkpoints").glob("global_step_*")
             if re.fullmatch(r"global_step_\d+", p.name) and (p / hf_subdir).is_dir()]
    return sorted(s for s in steps if s <= last)


def every_kth(steps: list[int], every: int) -> list[int]:
    """Every `every`-th of `steps` (counting from the first) and always the last; [] for every=0."""
    if every <= 0 or not steps:
        return []
    return sorted({*steps[every - 1::every], steps[-1]})


def planned_steps(run_dir: Path) -> int | None:
    """The run's total steps as its trainer wrote them (progress.json), or None before it started."""
    progress = Path(run_dir) / "progress.json"
    return int(json.loads(progress.read_text())["total_training_steps"]) if progress.is_file() else None


def is_complete(run_dir: Path) -> bool:
    """The latest checkpoint is the run's last step (resuming it would make verl train one step more)."""
    total, checkpoint = planned_steps(run_dir), latest_checkpoint(run_dir)
    if total is None or checkpoint is None:
        return False
    return checkpoint_step(checkpoint) >= total


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) if path.is_dir() \
        else (path.stat().st_size if path.is_file() else 0)


def _drop_all_but(folder: Path, keep: Path) -> int:
    """Delete everything in `folder` except the path `keep` (relative: huggingface or actor/huggingface)
    and the folders leading to it; returns the bytes freed."""
    head, *rest = keep.parts
    freed = 0
    for entry in folder.iterdir():
        if entry.name == head:
            if rest:
                freed += _drop_all_but(entry, Path(*rest))
            continue
        freed += _size(entry)
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    return freed


def prune_finished_run(run_dir: Path, hf_subdir: str, *, keep_last: int | None = None,
                       keep_state: bool = False) -> dict:
    """What a finished, exported run keeps (the `checkpoints` section): each saved step's Hugging Face export
    (the last `keep_last` steps' only, when set) and, with keep_state, the rest of its checkpoints (weights
    shards, optimizer and trainer state: nothing resumes a finished run). A run not finished is left as it
    is. Returns {"freed_bytes", "kept_steps"}."""
    run_dir = Path(run_dir)
    if not is_complete(run_dir):
        return {"freed_bytes": 0, "kept_steps": saved_steps(run_dir, hf_subdir)}
    steps = saved_steps(run_dir, hf_subdir)
    kept = steps[-keep_last:] if keep_last else steps
    freed = 0
    for checkpoint in sorted((run_dir / "checkpoints").glob("global_step_*")):
        if not re.fullmatch(r"global_step_\d+", checkpoint.name):
            continue
        if checkpoint_step(checkpoint) not in kept:
            if checkpoint != latest_checkpoint(run_dir):  # the tracker's step always stays (the export's source)
                freed += _size(checkpoint)
                shutil.rmtree(checkpoint)
                continue
        if not keep_state:
            freed += _drop_all_but(checkpoint, Path(hf_subdir))
    return {"freed_bytes": freed, "kept_steps": saved_steps(run_dir, hf_subdir)}


def finish_run(run_dir: Path, hf_subdir: str, checkpoints, log=print) -> dict:
    """After a finished run's export: prune it as the `checkpoints` section says (prune_finished_run) and
    say what stayed."""
    pruned = prune_finished_run(run_dir, hf_subdir, keep_last=checkpoints.keep_last,
                                keep_state=bool(checkpoints.keep_state))
    if pruned["freed_bytes"]:
        log(f"curiosft: {run_dir}: finished; kept the exports of steps {pruned['kept_steps']}, freed "
            f"{pruned['freed_bytes'] / 1e9:.2f} GB of checkpoint state (checkpoints.keep_state=true keeps it)")
    return pruned


def disk_bytes(path: str | Path) -> int:
    """The bytes a run folder or an output file holds."""
    return _size(Path(path))
