"""What each stage reads of the config: one declaration deciding which overrides reach its jobs and what
its fingerprint holds (curiosft.fingerprint).

    world   the tiny world's data, tokenizer and base model
    sft     one SFT run
    rl      one GRPO run from an SFT model
    eval        one checkpoint on its benchmarks (the final evaluation: eval less its curve protocol)
    eval_curve  a run's saved steps on the curve benchmarks (eval with eval.curve's protocol)

A section is a top-level key (`trainer`) or a dotted key inside one (`trainer.loggers`). An override
reaches a stage when its key lies in one of the stage's sections, or is one of the ENVIRONMENT keys every
job composes (the experiment, where outputs go, where jobs run): so `trainer.lr=3e-5` re-runs the SFT jobs
(Snakemake's params trigger) and never the world, `eval.temperature=0.7` the evaluations only. A stage
reads none of its EXCLUDED keys: `eval.curve.limit=50` re-runs the curve jobs, not the final evaluations.

The fingerprint is the resolved sections a stage reads, less NOT_FINGERPRINTED: keys that change how a job
runs and not what it computes (threads, loggers, servers), and the input paths, which the fingerprint
holds by content instead (curiosft.fingerprint.content_digest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# stage -> the config sections its jobs read (besides ENVIRONMENT)
STAGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "world": ("world",),
    "sft": ("method", "schedule", "model", "data", "trainer", "seed"),
    # the method and schedule name the run (the rule passes them); its input is the SFT model
    "rl": ("rl", "scoring", "model", "data", "seed", "trainer.loggers"),
    "eval": ("eval", "scoring", "data.max_prompt_length"),
    "eval_curve": ("eval", "scoring", "data.max_prompt_length"),
}
# stage -> keys inside its sections it does not read: the final evaluation neither the curve protocol nor
# the step selection (the select rule's), the curve jobs not the selection
EXCLUDED: dict[str, tuple[str, ...]] = {
    "eval": ("eval.curve", "eval.select"),
    "eval_curve": ("eval.select",),
}
# read by every job (which experiment, where outputs go, where the job runs, what to do with a stale run)
ENVIRONMENT = ("experiment", "paths", "launcher", "stale_run", "hydra")
# what a job does with a run folder made under another fingerprint (the root key stale_run)
STALE_RUN_CHOICES = ("move_aside", "error")
# how a job runs, not what it computes; and the inputs, fingerprinted by content
NOT_FINGERPRINTED = (
    "trainer.loggers", "eval.threads", "eval.scoring_workers", "rl.threads", "rl.reward.workers", "rl.reward.url",
    "rl.reward.token", "world.pretrain.threads", "model.path", "data.sft_train", "data.rl_train",
)


def _within(key: str, section: str) -> bool:
    """`key` lies in `section` (trainer.lr in trainer) or holds it (trainer holds trainer.loggers)."""
    return key == section or key.startswith(section + ".") or section.startswith(key + ".")


def override_key(override: str) -> str:
    """`+trainer.lr=1`, `~eval.limit`, `method=psft` -> the dotted key (trainer.lr, eval.limit, method)."""
    return override.lstrip("+~").split("=", 1)[0].strip()


def stage_sections(stage: str) -> tuple[str, ...]:
    """The sections `stage` reads; ValueError naming the stages for an unknown one."""
    if stage not in STAGE_SECTIONS:
        raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGE_SECTIONS)}")
    return STAGE_SECTIONS[stage]


def reaches(stage: str, override: str) -> bool:
    """Whether a Hydra override is one `stage` reads (or an ENVIRONMENT key every job composes)."""
    key = override_key(override)
    if any(key == x or key.startswith(x + ".") for x in EXCLUDED.get(stage, ())):
        return False
    return any(_within(key, s) for s in (*stage_sections(stage), *ENVIRONMENT))


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
    """The resolved sections `stage` reads (a plain dict keyed by section), less its EXCLUDED keys and
    NOT_FINGERPRINTED.
    `cfg`: the resolved config as plain containers (OmegaConf.to_container(cfg, resolve=True))."""
    import copy

    out: dict[str, Any] = {}
    for section in stage_sections(stage):
        found, value = _select(cfg, section)
        if found:
            out[section] = copy.deepcopy(value)
    for key in (*EXCLUDED.get(stage, ()), *NOT_FINGERPRINTED):
        for section in list(out):
            if key == section:
                out.pop(section)
            elif key.startswith(section + "."):
                _drop(out[section] if isinstance(out[section], dict) else {}, key[len(section) + 1:])
    return out
