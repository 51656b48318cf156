"""A run's identity: stage, method, schedule, seed, and the one spelling of its path.

    RunId("sft", "curiosft", "fixed", 2).path        -> "method~curiosft/schedule~fixed/seed~2"
    RunId("sft", "curiosft", "fixed", 2).checkpoint  -> "sft/method~curiosft/schedule~fixed/seed~2"
    RunId.parse("rl/method~sft/schedule~none/seed~1") -> RunId("rl", "sft", "none", 1)
    RunId("sft", "sft", "none", 1).checkpoint_at(40) -> "sft/method~sft/schedule~none/seed~1/step~40"
    parse_checkpoint("sft/method~sft/schedule~none/seed~1/step~40") -> (RunId("sft", ...), 40)

Results sit at results/<stage>/<path>/ (Snakemake Paramspace-style `key~value` folders) and evaluation
records at results/eval/<checkpoint>/<benchmark>.jsonl; `base` is the model before SFT. A checkpoint saved
during training is `<checkpoint>/step~N` (verl's global_step_N); without a step, the run's final model. Every metrics
line and evaluation record carries the identity itself (`as_dict()`): readers take it from the data,
never from where a file happens to lie. A leaf module (plain Python).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from curiosft.errors import ConfigError
from curiosft.stages import training_stages

# a checkpoint's stage: the base model, or a stage that trains a run (curiosft.stages: sft, rl)
STAGES = ("base", *training_stages())
# the path pattern, with Snakemake/format placeholders, and each wildcard's constraint (regex)
RUN_PATTERN = "method~{method}/schedule~{schedule}/seed~{seed}"
WILDCARD_CONSTRAINTS = {"method": r"[A-Za-z0-9_]+", "schedule": r"[A-Za-z0-9_]+", "seed": r"\d+",
                        "checkpoint": r"base|(sft|rl)/method~[A-Za-z0-9_]+/schedule~[A-Za-z0-9_]+/seed~\d+(/step~\d+)?",
                        "step": r"\d+"}
STEP_PATTERN = "step~{step}"
NO_SCHEDULE = "none"


@dataclass(frozen=True, order=True)
class RunId:
    stage: str
    method: str
    schedule: str
    seed: int

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ConfigError(f"unknown stage {self.stage!r} of a run; choose one of {', '.join(STAGES)}")

    @classmethod
    def base(cls) -> RunId:
        """The model before SFT (evaluated as checkpoint `base`)."""
        return cls("base", "base", NO_SCHEDULE, 0)

    @property
    def path(self) -> str:
        return RUN_PATTERN.format(method=self.method, schedule=self.schedule, seed=self.seed)

    @property
    def checkpoint(self) -> str:
        return "base" if self.stage == "base" else f"{self.stage}/{self.path}"

    def checkpoint_at(self, step: int) -> str:
        """The checkpoint saved at `step` of this run (verl's checkpoints/global_step_<step>)."""
        return f"{self.checkpoint}/{STEP_PATTERN.format(step=int(step))}"

    def as_dict(self) -> dict:
        """{stage, method, schedule, seed}: the fields every metrics line and record carries."""
        return asdict(self)

    @classmethod
    def parse(cls, checkpoint: str) -> RunId:
        """`sft/method~psft/schedule~none/seed~2` (or `base`) -> RunId; ConfigError naming the layout otherwise."""
        if checkpoint == "base":
            return cls.base()
        stage, *parts = checkpoint.split("/")
        fields = dict(part.split("~", 1) for part in parts if "~" in part)
        if (stage not in STAGES[1:] or len(parts) != 3 or list(fields) != ["method", "schedule", "seed"]
                or not fields["seed"].isdigit()):
            raise ConfigError(f"checkpoint {checkpoint!r} is not `base` or <sft|rl>/{RUN_PATTERN}")
        return cls(stage, fields["method"], fields["schedule"], int(fields["seed"]))

    @classmethod
    def of_config(cls, stage: str, cfg) -> RunId:
        """The run a composed config describes (its method, schedule and seed) at `stage`."""
        return cls(stage, str(cfg.method.name), str(cfg.schedule.name), int(cfg.seed))


def parse_checkpoint(checkpoint: str) -> tuple[RunId, int | None]:
    """`<checkpoint>[/step~N]` -> (its run, N or None for the run's final model); ConfigError otherwise."""
    head, _, last = checkpoint.rpartition("/")
    if last.startswith("step~"):
        step = last.removeprefix("step~")
        if not step.isdigit() or head == "base":
            raise ConfigError(f"checkpoint {checkpoint!r}: the step must be step~<N> after a training run's path")
        return RunId.parse(head), int(step)
    return RunId.parse(checkpoint), None
