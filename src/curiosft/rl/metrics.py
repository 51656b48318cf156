"""One set of RL metric names for both backends.

Both backends log verl's names (the `verl` backend through verl's file logger, the `local` backend
natively); `curiosft_metrics` renames the ones the report reads, keeping every other key as it is (the
local backend when it writes a line, the verl backend's lines when curiosft.runs.merge_metrics merges
its attempts). A metrics line is verl's file-logger record: {"step": N, "data": {name: value}}.
"""

from __future__ import annotations

import json

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
