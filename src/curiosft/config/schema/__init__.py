"""Structured (dataclass) schemas of the Hydra config tree (curiosft/conf), one module per config group.

Every group option in conf/ starts from one of these schemas, so a mistyped or unknown key fails at
composition with a message naming it, and `validate()` (OmegaConf.to_object) runs each __post_init__
check. The released hyper-parameters live in the conf/ option files (docs/methods.md); a schema field a
release sets has no default here (MISSING), so it is written once. Method schemas belong to their
method modules (curiosft.methods): `method_schemas()` lists them.
"""

from curiosft.config.schema.data import DataConfig
from curiosft.config.schema.eval import EvalConfig
from curiosft.config.schema.launcher import LauncherConfig, LocalLauncher, SlurmLauncher
from curiosft.config.schema.model import ModelConfig
from curiosft.config.schema.rl import GRPOConfig, RewardServiceConfig
from curiosft.config.schema.root import Config, PathsConfig
from curiosft.config.schema.scoring import ScoringConfig
from curiosft.config.schema.trainer import TrainerConfig
from curiosft.config.schema.world import WorldConfig, WorldModelConfig, WorldPretrainConfig
from curiosft.methods import MethodConfig, method_schemas, uses_teacher
from curiosft.schedules import (
    AnnealedSchedule,
    EntropyGuidedSchedule,
    FixedSchedule,
    NoSchedule,
    ScheduleConfig,
    register_schedule,
    schedule_names,
    schedule_schemas,
)

__all__ = [
    "AnnealedSchedule", "Config", "DataConfig", "EntropyGuidedSchedule", "EvalConfig",
    "FixedSchedule", "GRPOConfig", "LauncherConfig", "LocalLauncher", "MethodConfig", "ModelConfig", "NoSchedule",
    "PathsConfig", "RewardServiceConfig", "ScheduleConfig", "ScoringConfig", "SlurmLauncher", "TrainerConfig", "WorldConfig",
    "WorldModelConfig", "WorldPretrainConfig", "method_schemas", "register_schedule", "schedule_names",
    "schedule_schemas", "uses_teacher",
]
