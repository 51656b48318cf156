"""The schedule registry and the `schedule` group's schemas: CurioSFT's teacher temperature
(conf/schedule/*.yaml; released values live there).

A schedule is one class, registered like a method (curiosft.methods.registry): `@register_schedule` on its
config dataclass, which states the Hydra schema (its fields), the name tables print (`label`), its row
order among schedules (`order`) and `build()`, the TemperatureSchedule a CurioSFT run uses (imported only
when built: torch). The config store, the sweep's name check, the workflow's wildcard and the report's
labels all read this registry, and `build_schedule` builds a run's temperature through it.
docs/methods.md "Adding a schedule". Layers: config and methods import this module; it imports the
temperatures (curiosft.objectives) only inside build().
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from omegaconf import MISSING

from curiosft.errors import ConfigError, UnknownNameError, choose, require
from curiosft.runid import NO_SCHEDULE  # what methods without a teacher carry


@dataclass
class ScheduleConfig:
    name: str = MISSING
    # the name tables and figures print; the schedule's row order after the method's
    label: ClassVar[str] = ""
    order: ClassVar[int] = 100

    @classmethod
    def build(cls, fields: dict[str, Any]) -> Any:
        """The TemperatureSchedule (curiosft.objectives.temperature) for these parameters (the config's fields
        but its name); a parameter not given keeps the release's value."""
        name = cls.__dataclass_fields__["name"].default
        raise ConfigError(f"schedule {name!r} has no teacher temperature to build (what methods without a teacher "
                          "carry); pick a schedule with one, e.g. schedule=entropy_guided")


_SCHEDULES: dict[str, type[ScheduleConfig]] = {}


def register_schedule(cls: type[ScheduleConfig]) -> type[ScheduleConfig]:
    """Class decorator: make the config dataclass `cls` the schedule named by its `name` default."""
    if not (isinstance(cls, type) and issubclass(cls, ScheduleConfig)):
        raise TypeError(f"{cls!r} is not a ScheduleConfig subclass")
    name = cls.__dataclass_fields__["name"].default
    if not isinstance(name, str) or name == MISSING:
        raise TypeError(f"schedule {cls.__name__} needs a `name` default")
    previous = _SCHEDULES.get(name)
    if previous is not None and previous.__qualname__ != cls.__qualname__:
        raise ValueError(f"schedule name {name!r} is already registered by {previous.__module__}.{previous.__qualname__}")
    _SCHEDULES[name] = cls
    return cls


def unregister_schedule(name: str) -> None:
    """Remove a schedule (tests that register their own)."""
    _SCHEDULES.pop(name, None)


def schedule_schemas() -> dict[str, type[ScheduleConfig]]:
    """name -> config dataclass (`none` first, then by order): what the Hydra config store registers."""
    return dict(sorted(_SCHEDULES.items(), key=lambda item: (item[1].order, item[0])))


def schedule_names(with_none: bool = False) -> list[str]:
    """The registered schedules in row order; `with_none` adds `none` (what methods without a teacher carry)."""
    return [n for n in schedule_schemas() if with_none or n != NO_SCHEDULE]


def schedule_class(name: str) -> type[ScheduleConfig]:
    if name not in _SCHEDULES:
        raise UnknownNameError(f"unknown schedule {name!r}; choose one of {', '.join(schedule_names())}")
    return _SCHEDULES[name]


def schedule_label(name: str) -> str:
    """The name tables print (the schedule's own name for one not registered here)."""
    cls = _SCHEDULES.get(name)
    return (cls.label or name) if cls is not None else name


@register_schedule
@dataclass
class NoSchedule(ScheduleConfig):
    """What methods without a teacher (sft, psft, ...) carry: nothing to schedule."""

    name: str = NO_SCHEDULE
    order: ClassVar[int] = 0


@register_schedule
@dataclass
class EntropyGuidedSchedule(ScheduleConfig):
    """The release's per-token temperature from the teacher's entropy (METHODS.md; select_temperature)."""

    name: str = "entropy_guided"
    tau_min: float = MISSING
    tau_max: float = MISSING
    top_k: int = MISSING
    b: float = MISSING
    c: float = MISSING
    h0: float = MISSING
    eps_h: float = MISSING
    iters: int = MISSING
    label: ClassVar[str] = "entropy-guided"
    order: ClassVar[int] = 1

    def __post_init__(self) -> None:
        require(0 < self.tau_min <= self.tau_max, f"schedule tau range [{self.tau_min}, {self.tau_max}] is empty")
        require(self.top_k >= 2, f"schedule.top_k={self.top_k} must be >= 2")
        require(self.iters >= 1, f"schedule.iters={self.iters} must be >= 1")

    @classmethod
    def build(cls, fields):
        from curiosft.objectives.temperature import ENTROPY_GUIDED, EntropyGuided

        return EntropyGuided({**ENTROPY_GUIDED, **fields})


@register_schedule
@dataclass
class FixedSchedule(ScheduleConfig):
    name: str = "fixed"
    tau: float = MISSING
    label: ClassVar[str] = "fixed"
    order: ClassVar[int] = 2

    def __post_init__(self) -> None:
        require(self.tau > 0, f"schedule.tau={self.tau} must be > 0")

    @classmethod
    def build(cls, fields):
        from curiosft.objectives.temperature import Fixed

        return Fixed(**fields)


@register_schedule
@dataclass
class AnnealedSchedule(ScheduleConfig):
    """A fixed teacher temperature moved from tau_start to tau_end over training."""

    name: str = "annealed"
    tau_start: float = MISSING
    tau_end: float = MISSING
    curve: str = MISSING
    label: ClassVar[str] = "annealed"
    order: ClassVar[int] = 3

    def __post_init__(self) -> None:
        require(self.tau_start > 0 and self.tau_end > 0, "schedule tau_start/tau_end must be > 0")
        choose(self.curve, ("linear", "cosine"), "schedule.curve")

    @classmethod
    def build(cls, fields):
        from curiosft.objectives.temperature import Annealed

        return Annealed(**fields)


def build_schedule(cfg) -> Any:
    """A run's TemperatureSchedule from a config node / mapping with `name` and that schedule's fields, through
    the registry (each registered config's build()). Fields the config does not set keep the release's values
    (conf/schedule/<name>.yaml). UnknownNameError naming the schedules for an unknown name."""
    fields = dict(cfg)
    return schedule_class(fields.pop("name")).build(fields)
