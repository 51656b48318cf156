"""Expand a sweep (methods x schedules x seeds) into runs; schedules multiply only teacher methods."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from curiosft.errors import ConfigError
from curiosft.methods import method_names, uses_teacher
from curiosft.runid import NO_SCHEDULE, RunId
from curiosft.schedules import schedule_names


@dataclass(frozen=True, order=True)
class Run:
    method: str
    schedule: str
    seed: int
    # the sweep's extra Hydra overrides for this method (e.g. PSFT's own optimiser settings)
    method_overrides: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        """The run's `key~value` path segment (curiosft.runid), e.g. method~sft/schedule~none/seed~1."""
        return self.run_id("sft").path

    def run_id(self, stage: str) -> RunId:
        return RunId(stage, self.method, self.schedule, self.seed)

    @property
    def overrides(self) -> list[str]:
        """Hydra overrides that select this run."""
        return [f"method={self.method}", f"schedule={self.schedule}", f"seed={self.seed}", *self.method_overrides]


def expand_sweep(methods: Iterable[str], schedules: Iterable[str], seeds: Iterable[int],
                 method_overrides: Mapping[str, Iterable[str]] | None = None) -> list[Run]:
    """Every run of the sweep, in a stable order, each exactly once.

    sft-like methods (no teacher) get schedule `none` once per seed; teacher methods get every schedule.
    """
    methods, schedules, seeds = list(methods), list(schedules), list(seeds)
    method_overrides = {m: tuple(o) for m, o in (method_overrides or {}).items()}
    # an experiment inherits its parent's method_overrides (smoke from tiny): a registered method the sweep
    # does not run is fine, an unknown name (a typo) is not
    for m in method_overrides:
        if m not in method_names():
            raise ConfigError(f"method_overrides names {m!r}, which is not a method; choose from "
                              f"{', '.join(method_names())}")
    for m in methods:
        if m not in method_names():
            raise ConfigError(f"unknown method {m!r} in sweep; choose from {', '.join(method_names())}")
    real_schedules = schedule_names()
    for s in schedules:
        if s not in real_schedules:
            raise ConfigError(f"unknown schedule {s!r} in sweep; choose from {', '.join(real_schedules)}")
    if any(uses_teacher(m) for m in methods) and not schedules:
        raise ConfigError("the sweep has a method with a teacher but no schedules; list at least one schedule")
    runs = []
    for m in dict.fromkeys(methods):
        for sched in (dict.fromkeys(schedules) if uses_teacher(m) else [NO_SCHEDULE]):
            for seed in dict.fromkeys(seeds):
                runs.append(Run(m, sched, int(seed), method_overrides.get(m, ())))
    return runs


def runs_of(sweep: Mapping) -> list[Run]:
    """The runs of a sweep entry of config/config.yaml ({methods, schedules, seeds})."""
    return expand_sweep(sweep["methods"], sweep.get("schedules", []), sweep["seeds"], sweep.get("method_overrides"))
