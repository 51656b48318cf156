"""The `sweep` section: what the workflow runs for an experiment (methods x schedules x seeds), kept in the
experiment's own file (conf/experiment/<name>.yaml) beside the settings its runs use. Read by the workflow
(common.smk) and `curiosft runs`; no job reads it (it is in no stage's sections, curiosft.stages)."""

from __future__ import annotations

from dataclasses import dataclass, field

from curiosft.errors import require


@dataclass
class SweepConfig:
    # method names (the method registry, curiosft.methods: one registered from outside is sweepable too)
    methods: list[str] = field(default_factory=lambda: ["sft"])
    # schedules multiply only methods with a teacher (curiosft); the others run with schedule `none`
    schedules: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=lambda: [1])
    # method -> Hydra overrides for that method's runs only (e.g. PSFT's released optimiser settings)
    method_overrides: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, values in {"sweep.methods": self.methods, "sweep.schedules": self.schedules,
                            "sweep.seeds": self.seeds}.items():
            require(len(set(values)) == len(values), f"{key}={list(values)} lists a value twice")
        require(len(self.methods) >= 1, "sweep.methods is empty; list at least one method")
        require(len(self.seeds) >= 1 and all(s >= 0 for s in self.seeds),
                f"sweep.seeds={list(self.seeds)} must list at least one seed, each >= 0")
        from curiosft.sweep import expand_sweep  # names against the registries (method, schedule)

        expand_sweep(self.methods, self.schedules, self.seeds, self.method_overrides)
