"""Evaluation protocol presets (conf/protocol/, curiosft.protocols): what each sets, how records name them,
and the report's refusal to put two protocols in one column."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from curiosft.config import ConfigError, compose_config
from curiosft.evaluation.prompts import with_system_prompt
from curiosft.evaluation.records import RecordsError, write_records
from curiosft.evaluation.synthetic import synthetic_records
from curiosft.protocols import PROTOCOL_KEYS, preset, protocol_label, protocol_names
from curiosft.report.build import build_report

# what each preset sets (the sources: the option files' comments and docs/evaluation.md)
EXPECTED = {
    "qwen25_math_cot": dict(temperature=0.0, top_p=1.0, max_new_tokens=2048, n_samples=1, system_prompt=None,
                            grader="curiosft"),
    "luffy": dict(temperature=0.6, top_p=1.0, max_new_tokens=8192, n_samples=1, system_prompt="", grader="curiosft"),
    "dft": dict(temperature=1.0, top_p=1.0, max_new_tokens=4096, n_samples=16, system_prompt=None, grader="curiosft"),
    "psft": dict(temperature=0.7, top_p=0.95, max_new_tokens=31744, n_samples=32, system_prompt=None,
                 grader="curiosft"),
    "curiosft_release": dict(temperature=0.6, top_p=1.0, max_new_tokens=8192, n_samples=8, system_prompt=None,
                             grader="release"),
}


MMLU_PRO = {"qwen25_math_cot": 1, "luffy": 1, "dft": 16, "psft": 32, "curiosft_release": 1}


def label(overrides) -> str:
    cfg = compose_config(overrides)
    return protocol_label(OmegaConf.to_object(cfg.eval), OmegaConf.to_object(cfg.scoring))


def test_the_presets_are_the_documented_ones():
    assert protocol_names() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_preset_sets_its_protocol_over_the_experiment(name):
    cfg = compose_config(["experiment=paper", f"protocol={name}"])
    expected = EXPECTED[name]
    assert cfg.eval.protocol == name and cfg.scoring.grader == expected.pop("grader")
    for key, value in expected.items():
        assert cfg.eval[key] == value, key
    assert cfg.eval.top_k is None
    # every preset names MMLU-Pro's count (a preset cannot remove a key an experiment set: Hydra merges dicts)
    assert dict(cfg.eval.n_samples_per_benchmark) == {"mmlu_pro": MMLU_PRO[name]}
    # the experiment's other settings stay (benchmarks, backend)
    assert cfg.eval.benchmarks == compose_config(["experiment=paper"]).eval.benchmarks
    assert label(["experiment=paper", f"protocol={name}"]) == name
    assert set(preset(name)) == set(PROTOCOL_KEYS)


def test_a_changed_key_is_named_in_the_label():
    assert label(["experiment=paper", "protocol=psft", "eval.n_samples=4"]) == "psft (changed: n_samples=4)"
    # the name alone (eval.protocol=..., not protocol=...) does not pass for the preset
    named_only = label(["experiment=paper", "eval.protocol=luffy"])
    assert named_only.startswith("luffy (changed: ") and "system_prompt=None" in named_only
    assert label(["experiment=paper"]) == "custom"


def test_an_unknown_protocol_is_refused_naming_the_presets():
    with pytest.raises(ConfigError, match=r"unknown eval.protocol \(select a preset with protocol=<name>\) 'lufy'; choose one of custom, "
                                          "curiosft_release"):
        compose_config(["eval.protocol=lufy"])
    with pytest.raises(ConfigError, match="protocol"):
        compose_config(["protocol=lufy"])


def test_the_system_prompt_is_kept_dropped_or_replaced():
    chat = [{"role": "system", "content": "data's"}, {"role": "user", "content": "q"}]
    assert with_system_prompt(chat, None) == chat
    assert with_system_prompt(chat, "") == [{"role": "user", "content": "q"}]
    assert with_system_prompt(chat, "mine") == [{"role": "system", "content": "mine"}, {"role": "user", "content": "q"}]
    assert with_system_prompt(chat[1:], "mine")[0] == {"role": "system", "content": "mine"}


def test_the_report_refuses_two_protocols_in_one_column_and_names_the_one_it_shows(tmp_path):
    base = tmp_path / "eval" / "base" / "tiny_id.jsonl"
    sft = tmp_path / "eval" / "sft" / "method~sft" / "schedule~none" / "seed~1" / "tiny_id.jsonl"
    write_records(base, (r | {"protocol": "luffy"} for r in synthetic_records("base", "tiny_id", prompts=3, n=2)))
    write_records(sft, (r | {"protocol": "luffy (changed: n_samples=2)"}
                        for r in synthetic_records("sft/method~sft/schedule~none/seed~1", "tiny_id", prompts=3, n=2)))
    with pytest.raises(RecordsError, match=r"more than one evaluation protocol in one column \(tiny_id: luffy \(e\.g\. "
                                           r"base\), luffy \(changed: n_samples=2\)"):
        build_report(records=[base, sft], out=tmp_path / "paper", what="tables")
    write_records(sft, (r | {"protocol": "luffy"}
                        for r in synthetic_records("sft/method~sft/schedule~none/seed~1", "tiny_id", prompts=3, n=2)))
    build_report(records=[base, sft], out=tmp_path / "paper", what="tables")
    table = (tmp_path / "paper" / "tables" / "in_distribution.md").read_text()
    assert "evaluation protocol: luffy" in table


def test_the_stage_table_knows_every_key_a_preset_sets():
    """The stage table (a leaf: it imports no protocol code) declares where protocol=<name> writes; every
    key of every preset must lie there, or a preset key would reach no job."""
    from curiosft.protocols import GROUP
    from curiosft.stages import GLOBAL_GROUPS

    sections = GLOBAL_GROUPS[GROUP]
    for name in protocol_names():
        for key in (*preset(name), "eval.protocol"):
            assert any(key == s or key.startswith(s + ".") for s in sections), (name, key)
