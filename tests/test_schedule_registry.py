"""Adding a schedule is one registered config class plus its option file (curiosft.schedules):
a test-only schedule composes, is swept, labelled in the tables and builds its temperature, with nothing
else in the package changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch

from curiosft.config import compose_config, group_options
from curiosft.errors import ConfigError
from curiosft.objectives.temperature import Fixed
from curiosft.schedules import (
    ScheduleConfig,
    build_schedule,
    register_schedule,
    schedule_names,
    unregister_schedule,
)


@dataclass(frozen=True)
class Stepped:
    """tau_high for the first half of training, tau_low after."""

    tau_high: float
    tau_low: float
    name: str = "stepped"

    def __call__(self, teacher_logits, progress: float = 0.0):
        return Fixed(self.tau_high if progress < 0.5 else self.tau_low)(teacher_logits)


@dataclass
class SteppedSchedule(ScheduleConfig):
    name: str = "stepped"
    tau_high: float = 1.5
    tau_low: float = 1.1
    label: ClassVar[str] = "stepped"
    order: ClassVar[int] = 50

    def __post_init__(self) -> None:
        if not self.tau_high > 0 < self.tau_low:
            raise ConfigError(f"schedule.tau_high/tau_low must be > 0, got {self.tau_high}, {self.tau_low}")

    @classmethod
    def build(cls, fields):
        return Stepped(**{"tau_high": cls.tau_high, "tau_low": cls.tau_low, **fields})


@pytest.fixture()
def stepped(tmp_path, monkeypatch):
    register_schedule(SteppedSchedule)
    (tmp_path / "schedule").mkdir()
    (tmp_path / "schedule" / "stepped.yaml").write_text(
        "defaults:\n  - /schema/schedule/stepped@_here_\n  - _self_\n\ntau_low: 1.2\n")
    monkeypatch.setenv("CURIOSFT_CONF_PATH", str(tmp_path))
    yield
    unregister_schedule("stepped")


def test_a_new_schedule_is_one_class_and_its_option_file(stepped):
    assert "stepped" in schedule_names() and "stepped" in group_options("schedule")
    cfg = compose_config(["method=curiosft", "schedule=stepped"])
    assert (cfg.schedule.tau_high, cfg.schedule.tau_low) == (1.5, 1.2)
    with pytest.raises(ConfigError, match="tau_high/tau_low must be > 0"):
        compose_config(["method=curiosft", "schedule=stepped", "schedule.tau_high=-1"])
    # its temperature, through the registry
    schedule = build_schedule(cfg.schedule)
    logits = torch.zeros(3, 10)
    assert torch.equal(schedule(logits, 0.2), torch.full((3,), 1.5))
    assert torch.equal(schedule(logits, 0.8), torch.full((3,), 1.2))
    # the sweep and the report know it: after the shipped schedules, in its order
    from curiosft.report.labels import known_runs, run_label
    from curiosft.sweep import expand_sweep

    assert [r.schedule for r in expand_sweep(["curiosft"], ["fixed", "stepped"], [1])] == ["fixed", "stepped"]
    assert run_label("curiosft", "stepped") == "CurioSFT (stepped)"
    runs = known_runs()
    assert runs[runs.index(("curiosft", "annealed")) + 1] == ("curiosft", "stepped")


def test_unknown_schedules_name_the_registered_ones():
    with pytest.raises(KeyError, match="unknown schedule 'hot'; choose one of entropy_guided, fixed, annealed"):
        build_schedule({"name": "hot"})
    with pytest.raises(ConfigError, match="schedule 'none' has no teacher temperature to build"):
        build_schedule({"name": "none"})
    with pytest.raises(ValueError, match="already registered"):
        @register_schedule
        @dataclass
        class Other(ScheduleConfig):
            name: str = "fixed"
