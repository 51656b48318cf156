"""The stage table: one declared `Stage` per stage of the workflow, and what each reads of the config.

    world       the tiny world's data, tokenizer and base model
    sft         one SFT run
    rl          one GRPO run from an SFT model
    eval        one checkpoint on its benchmarks (the final evaluation: eval less its curve protocol)
    eval_curve  a run's saved steps on the curve benchmarks (eval with eval.curve's protocol)
    select      a run's best step on its curve records (eval.select)
    report      the tables and figures

A `Stage` states its entry point (the function a job runs), the config sections it reads (which decide
both the overrides its jobs get and its fingerprint), what it writes (a resumable run folder, or records
files with a manifest beside each), its preflight checks and whether its fingerprint holds the grader.
The launcher (curiosft.launcher.jobs.StageJob), the preflight, the manifests, the provenance tables and
the workflow rules read these objects; none branches on a stage's name. Where outputs lie: curiosft.layout.

A section is a top-level key (`trainer`) or a dotted key inside one (`trainer.loggers`). An override
reaches a stage when its key lies in one of the stage's sections, or is one of the ENVIRONMENT keys every
job composes (the experiment, where outputs go, where jobs run): so `trainer.lr=3e-5` re-runs the SFT jobs
(Snakemake's params trigger) and never the world, `eval.temperature=0.7` the evaluations only. A stage
reads none of its `excluded` keys: `eval.curve.limit=50` re-runs the curve jobs, not the final evaluations.

The fingerprint is the resolved sections a stage reads, less NOT_FINGERPRINTED: keys that change how a job
runs and not what it computes (threads, loggers, servers), and the input paths, which the fingerprint
holds by content instead (curiosft.fingerprint.content_digest).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curiosft.errors import UnknownNameError

# what a stage writes
RUN_DIR = "run_dir"   # one run folder per job: claimed by fingerprint, resumed from its checkpoints, manifest inside
RECORDS = "records"   # records files (one per benchmark, several per job): a manifest beside each, never resumed
FILES = "files"       # files a workflow rule writes (no StageJob)
# a run folder's manifest (curiosft.manifest); a records file's lies beside it as <name>.manifest.json
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Stage:
    """One stage of the workflow, declared once (the table STAGES below)."""

    name: str
    # the config sections its jobs read (besides ENVIRONMENT); keys inside them it does not read
    sections: tuple[str, ...]
    excluded: tuple[str, ...] = ()
    # "module:function" the job runs, run(cfg, output, **kwargs) -> result; None: a rule's CLI command
    entry_point: str | None = None
    # "module:function" of the checks run before a job is queued, check(cfg, **kwargs) (the job checks again)
    preflight: str | None = None
    # "module:function" naming what a job reads, inputs(cfg, outputs, kwargs) (curiosft.launcher.inputs)
    inputs: str | None = None
    # "module:function" giving a rule's threads, GPUs, Python and SLURM request, resources(cfg, python)
    # (curiosft.resources)
    resources: str | None = None
    output: str = FILES
    # its fingerprint holds the grader's name and version (what it computes depends on the grading)
    graded: bool = False
    # the stage a job of this one records in its manifest and names on the command line (eval_curve: eval)
    command: str = ""
    # the stage a curve job of this one becomes (eval: eval_curve)
    curve: str | None = None
    # what the cost table calls its jobs
    label: str = ""
    # it trains a run (a RunId stage: results/<stage>/<run>)
    trains: bool = False

    @property
    def job_stage(self) -> str:
        return self.command or self.name

    @property
    def resumable(self) -> bool:
        """One run folder, claimed before the job runs and resumed from its checkpoints on a requeue."""
        return self.output == RUN_DIR

    @property
    def many_outputs(self) -> bool:
        """A job may write several outputs (an evaluation: one records file per benchmark)."""
        return self.output == RECORDS

    def manifest_path(self, output: str | Path) -> Path:
        """Where a job's manifest goes: in the run folder, or beside the records file."""
        output = Path(output)
        return output / MANIFEST if self.resumable else output.with_suffix(".manifest.json")

    def slurm_dir(self, outputs: list[str]) -> Path:
        """submitit's logs and pickles: in the run folder, or beside the records under their benchmarks' name."""
        first = Path(outputs[0])
        return first / "slurm" if self.resumable else first.parent / "slurm" / outputs_stem(outputs)

    def job_name(self, outputs: list[str]) -> str:
        """The SLURM job name as squeue shows it: the stage and the run (and benchmarks) it produces."""
        label = self.name.replace("_", "-")
        first = Path(outputs[0])
        if self.resumable:
            return f"curiosft-{label}:" + "/".join(first.parts[-3:])
        return f"curiosft-{label}:" + "/".join([*first.parent.parts[-3:], outputs_stem(outputs)])

    def run_entry_point(self) -> Callable:
        if self.entry_point is None:
            raise UnknownNameError(f"stage {self.name!r} is run by its workflow rule, not as a job; choose one of "
                                   f"{', '.join(job_stages())}")
        return _load(self.entry_point)

    def job_inputs(self, cfg: Mapping[str, Any], outputs: list[str], kwargs: dict):
        """(the checkpoint the outputs belong to, [(benchmark or None, {input name: path})] per output)."""
        return _load(self.inputs)(cfg, outputs, kwargs)

    def job_resources(self, cfg, python: str):
        """What this stage's jobs ask for and how they start (curiosft.resources.JobResources)."""
        if self.resources is None:
            raise UnknownNameError(f"stage {self.name!r} declares no resources")
        return _load(self.resources)(cfg, python)

    def run_preflight(self, cfg, **kwargs) -> None:
        if self.preflight is not None:
            _load(self.preflight)(cfg, **kwargs)


def outputs_stem(outputs: Iterable[str | Path]) -> str:
    return "+".join(Path(o).stem for o in outputs)


def _load(path: str) -> Callable:
    module, function = path.split(":")
    return getattr(importlib.import_module(module), function)


_EVAL_SECTIONS = ("eval", "scoring", "data.max_prompt_length")
STAGES: dict[str, Stage] = {s.name: s for s in [
    Stage("world", ("world",), resources="curiosft.resources:world_resources", label="tiny world"),
    Stage("sft", ("method", "schedule", "model", "data", "trainer", "seed", "checkpoints"), entry_point="curiosft.sft:run_sft",
          preflight="curiosft.preflight:preflight_sft", inputs="curiosft.launcher.inputs:sft_inputs",
          resources="curiosft.resources:sft_resources", output=RUN_DIR, label="SFT", trains=True),
    # the method and schedule name the run (the rule passes them); its input is the SFT model
    Stage("rl", ("rl", "scoring", "model", "data", "seed", "trainer.loggers", "checkpoints"), entry_point="curiosft.rl.run:run_rl",
          preflight="curiosft.preflight:preflight_rl", inputs="curiosft.launcher.inputs:rl_inputs",
          resources="curiosft.resources:rl_resources", output=RUN_DIR, graded=True, label="RL", trains=True),
    # the final evaluation reads neither the curve protocol nor the step selection (the select rule's)
    Stage("eval", _EVAL_SECTIONS, excluded=("eval.curve", "eval.select"),
          entry_point="curiosft.evaluation.run:run_eval", preflight="curiosft.preflight:preflight_eval",
          inputs="curiosft.launcher.inputs:eval_inputs", resources="curiosft.resources:eval_resources",
          output=RECORDS, graded=True, curve="eval_curve",
          label="evaluation"),
    Stage("eval_curve", _EVAL_SECTIONS, excluded=("eval.select",), entry_point="curiosft.evaluation.run:run_eval",
          preflight="curiosft.preflight:preflight_eval", inputs="curiosft.launcher.inputs:eval_inputs",
          resources="curiosft.resources:eval_resources", output=RECORDS, graded=True, command="eval",
          label="curve evaluation"),
    Stage("select", ("eval.select",), label="selection"),
    Stage("report", (), label="report"),
]}
# stage -> the config sections its jobs read (besides ENVIRONMENT): a view of the table
STAGE_SECTIONS: dict[str, tuple[str, ...]] = {name: s.sections for name, s in STAGES.items()}
# read by every job (which experiment, where outputs go, where the job runs, what to do with a stale run)
ENVIRONMENT = ("experiment", "paths", "launcher", "stale_run", "hydra")
# what a job does with a run folder made under another fingerprint (the root key stale_run)
STALE_RUN_CHOICES = ("move_aside", "error")
# how a job runs, not what it computes; and the inputs, fingerprinted by content
NOT_FINGERPRINTED = (
    "trainer.loggers", "eval.threads", "eval.scoring_workers", "rl.threads", "rl.reward.workers", "rl.reward.url",
    "rl.reward.token", "world.pretrain.threads", "model.path", "data.sft_train", "data.rl_train", "checkpoints",
)


def get_stage(name: str) -> Stage:
    """The declared stage `name` (UnknownNameError naming the stages otherwise)."""
    if name not in STAGES:
        raise UnknownNameError(f"unknown stage {name!r}; choose one of {', '.join(STAGES)}")
    return STAGES[name]


def job_stages() -> list[str]:
    """The stages run as launcher jobs (`curiosft sft|rl|eval`), by their command name."""
    return list(dict.fromkeys(s.job_stage for s in STAGES.values() if s.entry_point is not None))


def job_stage(command: str, *, curve: bool = False) -> Stage:
    """The stage a `curiosft <command>` job is (`eval --curve`: eval_curve)."""
    if command not in job_stages():
        raise UnknownNameError(f"unknown stage {command!r}; choose one of {', '.join(job_stages())}")
    stage = STAGES[command]
    return STAGES[stage.curve] if curve and stage.curve else stage


def training_stages() -> list[str]:
    """The stages that train a run (sft, rl), in order."""
    return [name for name, s in STAGES.items() if s.trains]


def _within(key: str, section: str) -> bool:
    """`key` lies in `section` (trainer.lr in trainer) or holds it (trainer holds trainer.loggers)."""
    return key == section or key.startswith(section + ".") or section.startswith(key + ".")


def override_key(override: str) -> str:
    """`+trainer.lr=1`, `~eval.limit`, `method=psft` -> the dotted key (trainer.lr, eval.limit, method)."""
    return override.lstrip("+~").split("=", 1)[0].strip()


def stage_sections(stage: str) -> tuple[str, ...]:
    """The sections `stage` reads; UnknownNameError naming the stages for an unknown one."""
    return get_stage(stage).sections


# Hydra groups whose options set keys of other sections (a `# @package _global_` option) -> the sections they
# write: `protocol=luffy` sets eval.* and scoring.grader (curiosft.protocols.PROTOCOL_KEYS, which
# tests/test_protocols.py checks lie within these), so it reaches the stages that read those
GLOBAL_GROUPS: dict[str, tuple[str, ...]] = {"protocol": ("eval", "scoring.grader")}


def override_keys(override: str) -> tuple[str, ...]:
    """The dotted keys a Hydra override sets: its own key, or every key a global group's option sets."""
    key = override_key(override)
    return GLOBAL_GROUPS.get(key, (key,))


# keys no job reads, which the workflow itself reads (the sweep: which runs exist)
WORKFLOW_KEYS = ("sweep",)


def reaches(stage: str, override: str) -> bool:
    """Whether a Hydra override is one `stage` reads (or an ENVIRONMENT key every job composes)."""
    excluded = get_stage(stage).excluded
    return any(not any(key == x or key.startswith(x + ".") for x in excluded)
               and any(_within(key, s) for s in (*stage_sections(stage), *ENVIRONMENT))
               for key in override_keys(override))


def unread_overrides(overrides: Iterable[str]) -> list[str]:
    """The overrides no stage reads and the workflow does not either (they would be dropped silently)."""
    return [o for o in overrides if not any(reaches(stage, o) for stage in STAGES)
            and not any(_within(key, w) for key in override_keys(o) for w in WORKFLOW_KEYS)]


def overrides_for(stage: str, overrides: Iterable[str]) -> list[str]:
    """The overrides of `overrides` that reach `stage`, in their order."""
    stage_sections(stage)
    return [o for o in overrides if reaches(stage, o)]


def _select(tree: Mapping[str, Any], section: str) -> tuple[bool, Any]:
    node: Any = tree
    for part in section.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _drop(tree: dict, dotted: str) -> None:
    *parents, last = dotted.split(".")
    node: Any = tree
    for part in parents:
        if not isinstance(node, dict) or part not in node:
            return
        node = node[part]
    if isinstance(node, dict):
        node.pop(last, None)


def stage_config(stage: str, cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The resolved sections `stage` reads (a plain dict keyed by section), less its `excluded` keys and
    NOT_FINGERPRINTED.
    `cfg`: the resolved config as plain containers (OmegaConf.to_container(cfg, resolve=True))."""
    import copy

    out: dict[str, Any] = {}
    for section in stage_sections(stage):
        found, value = _select(cfg, section)
        if found:
            out[section] = copy.deepcopy(value)
    for key in (*get_stage(stage).excluded, *NOT_FINGERPRINTED):
        for section in list(out):
            if key == section:
                out.pop(section)
            elif key.startswith(section + "."):
                _drop(out[section] if isinstance(out[section], dict) else {}, key[len(section) + 1:])
    return out
