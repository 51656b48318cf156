"""The `schedule` group: CurioSFT's teacher temperature (conf/schedule/*.yaml; released values live there)."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING

from curiosft.errors import choose, require


@dataclass
class ScheduleConfig:
    name: str = MISSING


@dataclass
class NoSchedule(ScheduleConfig):
    """What methods without a teacher (sft, psft, ...) carry: nothing to schedule."""

    name: str = "none"


@dataclass
class EntropyGuidedSchedule(ScheduleConfig):
    name: str = "entropy_guided"
    tau_min: float = MISSING
    tau_max: float = MISSING
    top_k: int = MISSING
    b: float = MISSING
    c: float = MISSING
    h0: float = MISSING
    eps_h: float = MISSING
    iters: int = MISSING

    def __post_init__(self) -> None:
        require(0 < self.tau_min <= self.tau_max, f"schedule tau range [{self.tau_min}, {self.tau_max}] is empty")
        require(self.top_k >= 2, f"schedule.top_k={self.top_k} must be >= 2")
        require(self.iters >= 1, f"schedule.iters={self.iters} must be >= 1")


@dataclass
class FixedSchedule(ScheduleConfig):
    name: str = "fixed"
    tau: float = MISSING

    def __post_init__(self) -> None:
        require(self.tau > 0, f"schedule.tau={self.tau} must be > 0")


@dataclass
class AnnealedSchedule(ScheduleConfig):
    """A fixed teacher temperature moved from tau_start to tau_end over training."""

    name: str = "annealed"
    tau_start: float = MISSING
    tau_end: float = MISSING
    curve: str = MISSING

    def __post_init__(self) -> None:
        require(self.tau_start > 0 and self.tau_end > 0, "schedule tau_start/tau_end must be > 0")
        choose(self.curve, ("linear", "cosine"), "schedule.curve")


SCHEDULE_SCHEMAS: dict[str, type[ScheduleConfig]] = {
    "none": NoSchedule,
    "entropy_guided": EntropyGuidedSchedule,
    "fixed": FixedSchedule,
    "annealed": AnnealedSchedule,
}
