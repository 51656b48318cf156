"""One set of RL metric names for both backends.

Both backends log verl's names (the `verl` backend through verl's file logger, the `local` backend
natively); `curiosft_metrics` renames the ones the report reads, keeping every other key as it is.
A metrics.jsonl line is verl's file-logger record: {"step": N, "data": {name: value}}.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from curiosft.io import atomic_path

VERL_TO_CURIOSFT = {
    "critic/score/mean": "train/reward",
    "actor/entropy": "train/entropy",
    "response_length/mean": "train/response_length",
    "actor/pg_clipfrac": "train/clip_frac",
    "actor/pg_loss": "train/pg_loss",
    "actor/ppo_kl": "train/ppo_kl",
    "actor/grad_norm": "grad_norm",
    "actor/lr": "lr",
    "timing_s/step": "perf/step_seconds",
}


def curiosft_metrics(verl_metrics: dict) -> dict:
    return {VERL_TO_CURIOSFT.get(k, k): v for k, v in verl_metrics.items()}


def metrics_line(step: int, verl_metrics: dict) -> str:
    return json.dumps({"step": int(step), "data": curiosft_metrics(verl_metrics)}, sort_keys=True) + "\n"


def rewrite_verl_log(lines: Iterable[str], out: str | Path) -> int:
    """verl's file-logger JSONL -> metrics.jsonl with curiosft names (last line per step wins)."""
    by_step: dict[int, dict] = {}
    for line in lines:
        if line.strip():
            record = json.loads(line)
            by_step[int(record["step"])] = record["data"]
    with atomic_path(out) as tmp:
        tmp.write_text("".join(metrics_line(s, by_step[s]) for s in sorted(by_step)))
    return len(by_step)
