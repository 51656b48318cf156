"""Compose and validate the Hydra config tree (curiosft/conf) against the dataclass schemas.

Used by every entry point (the CLI, the Snakefile, the trainers) so that all of them see the same,
validated configuration for the same overrides. Folders in $CURIOSFT_CONF_PATH are searched after the
package's tree: site settings (`local/default.yaml`) and options of your own.
"""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from curiosft.assets import default_cache_dir
from curiosft.config.schema import (
    Config,
    DataConfig,
    GRPOConfig,
    LocalLauncher,
    ModelConfig,
    NoSchedule,
    SlurmLauncher,
    method_schemas,
    schedule_names,
    schedule_schemas,
    uses_teacher,
)
from curiosft.errors import ConfigError
from curiosft.paths import conf_dir, extra_conf_dirs
from curiosft.runid import RunId
from curiosft.topology import planned_topology

__all__ = ["ConfigError", "compose_config", "finalize", "group_options", "register_schemas", "search_path_overrides"]


def _slurm_request(key: str, *, _root_):
    """`${slurm_request:key}`: launcher.<key> of a config composed with launcher=slurm (the Hydra launcher
    curiosft_slurm takes its request from there); ConfigError naming the fix otherwise."""
    launcher = _root_.get("launcher")
    if launcher is None or launcher.get("name") != "slurm":
        raise ConfigError("hydra/launcher=curiosft_slurm submits with the request of launcher=slurm; add "
                          "launcher=slurm (and launcher.partition=..., or your site's local/default.yaml)")
    value = launcher.get(key)
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def register_schemas() -> None:
    """Store the dataclass schemas under `schema/<group>/<name>`; conf/ options extend them. Also registers
    `${run_schedule:method,schedule}` (the schedule a run really uses: none without a teacher) and
    `${run_path:method,schedule,seed}` (curiosft.runid's path of a run), which name Hydra's output folders."""
    # hydra is imported only to compose: the workflow's cached start-up does without it
    from hydra.core.config_store import ConfigStore

    def run_schedule(method: str, schedule: str) -> str:
        return schedule if uses_teacher(method) else "none"

    OmegaConf.register_new_resolver("run_schedule", run_schedule, replace=True)
    OmegaConf.register_new_resolver(
        "run_path", lambda method, schedule, seed: RunId("sft", method, run_schedule(method, schedule), int(seed)).path,
        replace=True)
    OmegaConf.register_new_resolver("slurm_request", _slurm_request, replace=True)
    # where `curiosft assets` keeps converted models ($CURIOSFT_CACHE, else ~/.cache/curiosft)
    OmegaConf.register_new_resolver("curiosft_cache", lambda: str(default_cache_dir()), replace=True)
    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=Config)
    for name, node in method_schemas().items():
        cs.store(group="schema/method", name=name, node=node)
    for name, node in schedule_schemas().items():
        cs.store(group="schema/schedule", name=name, node=node)
    cs.store(group="schema/model", name="model", node=ModelConfig)
    cs.store(group="schema/data", name="data", node=DataConfig)
    cs.store(group="schema/rl", name="grpo", node=GRPOConfig)
    cs.store(group="schema/launcher", name="local", node=LocalLauncher)
    cs.store(group="schema/launcher", name="slurm", node=SlurmLauncher)


def group_options(group: str) -> list[str]:
    """The options of a config group, from the files in conf/<group>/ (and the extra search-path folders)."""
    return sorted({p.stem for d in (conf_dir(), *extra_conf_dirs()) for p in (d / group).glob("*.yaml")})


def search_path_overrides() -> list[str]:
    """`hydra.searchpath=[...]` for the folders of $CURIOSFT_CONF_PATH (none: no override)."""
    dirs = extra_conf_dirs()
    return [f"hydra.searchpath=[{','.join(f'file://{d}' for d in dirs)}]"] if dirs else []


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """Compose conf/config.yaml with Hydra overrides (e.g. ["experiment=paper", "method=psft"]), then finalize."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException

    register_schemas()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3", job_name="curiosft"):
            cfg = compose(config_name="config", overrides=[*search_path_overrides(), *overrides])
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
        options = ", ".join(schedule_names())
        raise ConfigError(f"method {method!r} uses a teacher and needs a schedule; pass schedule=<{options}>")
    try:
        OmegaConf.to_object(cfg)
    except ConfigError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from exc
    except (ValueError, OmegaConfBaseException) as exc:
        raise ConfigError(f"invalid configuration: {_explain(exc)}") from exc
    check_batch_sizes(cfg)
    return cfg


def check_batch_sizes(cfg: DictConfig) -> None:
    """Each rank's share of a global batch (or of a PSFT mini-batch) must split into whole micro-batches."""
    t, dp = cfg.trainer, planned_topology(cfg.launcher).world_size
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
