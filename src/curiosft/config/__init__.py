"""Compose and validate the Hydra config tree (conf/) against the dataclass schemas.

Used by every entry point (the CLI, the Snakefile, the trainers) so that all of them see the same,
validated configuration for the same overrides.
"""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from curiosft.config.schema import (
    METHOD_SCHEMAS,
    SCHEDULE_SCHEMAS,
    Config,
    DataConfig,
    GRPOConfig,
    LocalLauncher,
    ModelConfig,
    NoSchedule,
    SlurmLauncher,
    method_uses_teacher,
)
from curiosft.paths import conf_dir

__all__ = ["ConfigError", "compose_config", "finalize", "register_schemas", "group_options"]


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the value and the fix."""


def register_schemas() -> None:
    """Store the dataclass schemas under `schema/<group>/<name>`; conf/ options extend them. Also registers
    `${run_schedule:method,schedule}`: the schedule a run really uses (none without a teacher)."""
    # hydra is imported only to compose: the workflow's cached start-up does without it
    from hydra.core.config_store import ConfigStore

    OmegaConf.register_new_resolver(
        "run_schedule", lambda method, schedule: schedule if method_uses_teacher(method) else "none", replace=True)
    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=Config)
    for name, node in METHOD_SCHEMAS.items():
        cs.store(group="schema/method", name=name, node=node)
    for name, node in SCHEDULE_SCHEMAS.items():
        cs.store(group="schema/schedule", name=name, node=node)
    cs.store(group="schema/model", name="model", node=ModelConfig)
    cs.store(group="schema/data", name="data", node=DataConfig)
    cs.store(group="schema/rl", name="grpo", node=GRPOConfig)
    cs.store(group="schema/launcher", name="local", node=LocalLauncher)
    cs.store(group="schema/launcher", name="slurm", node=SlurmLauncher)


def group_options(group: str) -> list[str]:
    """The options of a config group, from the files in conf/<group>/."""
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """Compose conf/config.yaml with Hydra overrides (e.g. ["experiment=paper", "method=psft"]), then finalize."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException

    register_schemas()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3", job_name="curiosft"):
            cfg = compose(config_name="config", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(f"invalid configuration for overrides {list(overrides)}: {_explain(exc)}") from exc
    return finalize(cfg)


def _explain(exc: BaseException) -> str:
    """Hydra's message plus the causes it wraps (which name the offending key and schema)."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc).split("\n    full_key:")[0].strip()
        if text and text not in parts and "To append to your config" not in text and "$VALUE" not in text:
            parts.append(text)
        exc = exc.__cause__ or exc.__context__
    return " <- ".join(parts)


def finalize(cfg: DictConfig) -> DictConfig:
    """Apply the cross-group rules and run every schema check (each dataclass's __post_init__).

    - a method without a teacher has no temperature schedule: its schedule becomes `none`, so the
      sweep never multiplies sft/psft runs by schedules;
    - a method with a teacher needs a real schedule.
    """
    method = cfg.method.name
    if not cfg.method.uses_teacher:
        if cfg.schedule.name != "none":
            cfg.schedule = OmegaConf.structured(NoSchedule)
    elif cfg.schedule.name == "none":
        options = ", ".join(s for s in SCHEDULE_SCHEMAS if s != "none")
        raise ConfigError(f"method {method!r} uses a teacher and needs a schedule; pass schedule=<{options}>")
    try:
        OmegaConf.to_object(cfg)
    except (ValueError, OmegaConfBaseException) as exc:
        raise ConfigError(f"invalid configuration: {exc}") from exc
    check_batch_sizes(cfg)
    return cfg


def data_parallel_size(cfg: DictConfig) -> int:
    """Training processes of one job: torchrun processes locally, nodes x GPUs on SLURM."""
    launcher = cfg.launcher
    if launcher.name == "slurm":
        return max(1, int(launcher.nodes) * int(launcher.gpus_per_node))
    return int(launcher.nproc_per_node)


def check_batch_sizes(cfg: DictConfig) -> None:
    """Each rank's share of a global batch (or of a PSFT mini-batch) must split into whole micro-batches."""
    t, dp = cfg.trainer, data_parallel_size(cfg)
    micro = int(t.micro_batch_size_per_device)
    if t.global_batch_size % dp:
        raise ConfigError(
            f"trainer.global_batch_size={t.global_batch_size} does not split over {dp} data-parallel processes; "
            "use a multiple of the process count"
        )
    per_rank = t.global_batch_size // dp
    k = int(cfg.method.get("num_mini_batches", 1))
    if per_rank % k or (per_rank // k) % micro:
        raise ConfigError(
            f"trainer.global_batch_size={t.global_batch_size} over {dp} process(es)"
            + (f" in method.num_mini_batches={k} mini-batches" if k > 1 else "")
            + f" gives {per_rank / k:g} sequences per {'mini-batch' if k > 1 else 'step'} and rank, not a multiple of "
            f"trainer.micro_batch_size_per_device={micro}; change one of them"
        )
