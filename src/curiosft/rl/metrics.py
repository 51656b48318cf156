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


# a step whose rewards are all equal (all 0, say): every GRPO group has zero advantage, no learning signal
FLAT_REWARD = "train/flat_reward"


def curiosft_metrics(verl_metrics: dict) -> dict:
    """The renamed metrics, plus FLAT_REWARD (1.0 when every reward of the step was the same; from verl's
    critic/score/max and min, which both backends log)."""
    renamed = {VERL_TO_CURIOSFT.get(k, k): v for k, v in verl_metrics.items()}
    if "critic/score/max" in verl_metrics and "critic/score/min" in verl_metrics:
        renamed[FLAT_REWARD] = float(verl_metrics["critic/score/max"] == verl_metrics["critic/score/min"])
    return renamed


def flat_reward_report(metrics_file) -> str | None:
    """A warning when most GRPO steps of a run had every reward equal (GRPO learns nothing from such a step:
    its advantages are all 0), naming how many and what the reward was; None otherwise. `metrics_file`: the
    run's merged metrics.jsonl."""
    from pathlib import Path

    path = Path(metrics_file)
    lines = [json.loads(line)["data"] for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
    flat = [d for d in lines if d.get(FLAT_REWARD) == 1.0]
    if not lines or 2 * len(flat) <= len(lines):
        return None
    zero = sum(1 for d in flat if d.get("train/reward") == 0)
    return (f"{len(flat)} of {len(lines)} GRPO steps had every reward equal ({zero} of them all 0): their advantages "
            "are all 0, so RL learned little from them. Check that the SFT model answers in the reward's format "
            "(rl.reward.format; its responses in the run's rollouts), that data.rl_train's ground truths are right, "
            "and that rl.max_response_length lets answers finish")


def metrics_line(step: int, verl_metrics: dict) -> str:
    return json.dumps({"step": int(step), "data": curiosft_metrics(verl_metrics)}, sort_keys=True) + "\n"
