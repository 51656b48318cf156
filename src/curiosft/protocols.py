"""Evaluation protocols: named presets of everything that makes two papers' numbers comparable.

A preset is one option file conf/protocol/<name>.yaml (`protocol=<name>` on the command line or in an
experiment's defaults): it sets the sampling (eval.temperature, top_p, top_k), the response budget
(eval.max_new_tokens), the samples per prompt (eval.n_samples and its per-benchmark exceptions), the
system message (eval.system_prompt) and the grader (scoring.grader), and names itself in eval.protocol.
Every record carries the protocol that produced it (`protocol_label`): the preset's name, or the name
followed by every key that differs from it, so a changed value can never pass for the preset; the report
refuses to put two protocols in one column. docs/evaluation.md lists each preset's source.

Plain Python and PyYAML (a leaf: the config schema imports it).
"""

from __future__ import annotations

from functools import cache

import yaml

from curiosft.paths import conf_dir

GROUP = "protocol"
# no preset: whatever the experiment and overrides set
CUSTOM = "custom"
# what a preset sets, as dotted keys of the composed config
PROTOCOL_KEYS = ("eval.temperature", "eval.top_p", "eval.top_k", "eval.max_new_tokens", "eval.n_samples",
                 "eval.n_samples_per_benchmark", "eval.system_prompt", "scoring.grader")


def protocol_names() -> list[str]:
    """The presets (option files of conf/protocol/), sorted."""
    return sorted(p.stem for p in (conf_dir() / GROUP).glob("*.yaml"))


@cache
def _preset(name: str) -> dict:
    values = yaml.safe_load((conf_dir() / GROUP / f"{name}.yaml").read_text()) or {}
    return {key: _get(values, key) for key in PROTOCOL_KEYS}


def preset(name: str) -> dict:
    """{dotted key: value} of every PROTOCOL_KEYS entry the preset conf/protocol/<name>.yaml sets."""
    return dict(_preset(name))


def _get(tree, dotted: str):
    for part in dotted.split("."):
        if not isinstance(tree, dict) or part not in tree:
            raise KeyError(f"conf/{GROUP} preset does not set {dotted}: every preset sets all of {PROTOCOL_KEYS}")
        tree = tree[part]
    return tree


def _plain(value):
    """A config value as plain Python (OmegaConf containers to dicts and lists) for comparison."""
    try:
        from omegaconf import OmegaConf

        if OmegaConf.is_config(value):
            return OmegaConf.to_container(value, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    return value


def protocol_values(eval_cfg, scoring) -> dict:
    """{dotted key: value} of PROTOCOL_KEYS in a composed `eval` and `scoring` section."""
    sections = {"eval": eval_cfg, "scoring": scoring}
    return {key: _plain(getattr(sections[key.split(".")[0]], key.split(".", 1)[1])) for key in PROTOCOL_KEYS}


def protocol_label(eval_cfg, scoring) -> str:
    """What produced a record: the preset's name when every PROTOCOL_KEYS value is the preset's,
    `<name> (changed: key=value, ...)` otherwise; `custom` (no preset) lists nothing."""
    name = str(eval_cfg.protocol)
    if name == CUSTOM:
        return CUSTOM
    wanted = preset(name)
    values = protocol_values(eval_cfg, scoring)
    changed = [f"{key.split('.', 1)[1]}={values[key]!r}" for key in PROTOCOL_KEYS
               if _same(values[key], wanted[key]) is False]
    return f"{name} (changed: {', '.join(changed)})" if changed else name


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    return a == b
