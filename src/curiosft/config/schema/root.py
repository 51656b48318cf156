"""The root config (conf/config.yaml): one option per group plus the shared sections."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from curiosft.config.schema.checkpoints import CheckpointsConfig
from curiosft.config.schema.eval import EvalConfig
from curiosft.config.schema.scoring import ScoringConfig
from curiosft.config.schema.sweep import SweepConfig
from curiosft.config.schema.trainer import TrainerConfig
from curiosft.config.schema.world import WorldConfig
from curiosft.errors import choose
from curiosft.stages import STALE_RUN_CHOICES


@dataclass
class PathsConfig:
    # every stage writes below this folder (relative to the working directory)
    results: str = "results"
    world: str = "${paths.results}/world"
    data: str = "${paths.results}/data"


@dataclass
class Config:
    method: Any = MISSING
    schedule: Any = MISSING
    model: Any = MISSING
    data: Any = MISSING
    launcher: Any = MISSING
    rl: Any = MISSING  # the `rl` group (conf/rl/grpo.yaml, typed by GRPOConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    # the grader of evaluation and of the RL reward (one setting: the tables and the reward agree)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    world: WorldConfig = field(default_factory=WorldConfig)
    # what a finished SFT or RL run keeps on disk
    checkpoints: CheckpointsConfig = field(default_factory=CheckpointsConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    # the experiment option that was composed (tiny, smoke, paper, ...), and what the workflow runs for it
    experiment: str = MISSING
    sweep: SweepConfig = field(default_factory=SweepConfig)
    seed: int = 1
    # a run folder made under another config or input (curiosft.fingerprint): move_aside (keep it beside
    # as <run>.stale-<time>, train afresh) | error (stop, naming the keys that differ)
    stale_run: str = "move_aside"

    def __post_init__(self) -> None:
        choose(self.stale_run, STALE_RUN_CHOICES, "stale_run")
