"""Which overrides reach which stage (curiosft.stages) and the fingerprint of what made a run
(curiosft.fingerprint): the declaration and the claim rule, without training (the trainers' own tests
rerun for real: test_verl_sft, test_rl)."""

from __future__ import annotations

import json

import pytest

from curiosft.config import ConfigError, compose_config
from curiosft.fingerprint import claim_run_dir, content_digest, differences, stage_fingerprint, stale_reason
from curiosft.stages import STAGE_SECTIONS, overrides_for, stage_config

OVERRIDES = ["experiment=tiny", "launcher=local", "trainer.lr=3e-5", "+trainer.foo=1", "method.alpha=0.5",
             "method=psft", "eval.temperature=0.7", "~eval.limit", "scoring.grader=release", "rl.lr=1e-5",
             "world.seed=3", "data.max_prompt_length=64", "data=limo", "model=qwen2_5_math_7b", "seed=2",
             "trainer.loggers=[console]", "paths.results=/x", "eval.curve.limit=4", "eval.select=best:id"]


@pytest.mark.parametrize("stage,expected", [
    ("world", ["world.seed=3"]),
    ("sft", ["trainer.lr=3e-5", "+trainer.foo=1", "method.alpha=0.5", "method=psft", "data.max_prompt_length=64",
             "data=limo", "model=qwen2_5_math_7b", "seed=2", "trainer.loggers=[console]"]),
    ("rl", ["scoring.grader=release", "rl.lr=1e-5", "data.max_prompt_length=64", "data=limo",
            "model=qwen2_5_math_7b", "seed=2", "trainer.loggers=[console]"]),
    ("eval", ["eval.temperature=0.7", "~eval.limit", "scoring.grader=release", "data.max_prompt_length=64",
              "data=limo"]),
    ("eval_curve", ["eval.temperature=0.7", "~eval.limit", "scoring.grader=release", "data.max_prompt_length=64",
                    "data=limo", "eval.curve.limit=4"]),
])
def test_a_stage_gets_the_overrides_of_the_sections_it_reads(stage, expected):
    environment = ["experiment=tiny", "launcher=local", "paths.results=/x"]
    assert overrides_for(stage, OVERRIDES) == [o for o in OVERRIDES if o in environment + expected]


def test_unknown_stage_is_named():
    with pytest.raises(ValueError, match="unknown stage 'train'; choose one of world, sft, rl, eval, eval_curve"):
        overrides_for("train", [])


def test_the_fingerprint_holds_what_a_stage_computes_from_and_not_how_it_runs():
    cfg = compose_config(["experiment=tiny"])
    from omegaconf import OmegaConf

    plain = OmegaConf.to_container(cfg, resolve=True)
    sft = stage_config("sft", plain)
    # every section it reads but `checkpoints` (what stays on disk, not what is computed)
    assert set(sft) == set(STAGE_SECTIONS["sft"]) - {"checkpoints"}
    assert "loggers" not in sft["trainer"] and "path" not in sft["model"] and "sft_train" not in sft["data"]
    assert "launcher" not in sft and "paths" not in sft and "eval" not in sft
    rl = stage_config("rl", plain)
    assert "threads" not in rl["rl"] and "workers" not in rl["rl"]["reward"] and "trainer.loggers" not in rl
    assert set(stage_config("eval", plain)) == {"eval", "scoring", "data.max_prompt_length"}
    # the final evaluation does not compute from the curve protocol (nor the selection); the curve jobs do
    assert "curve" not in stage_config("eval", plain)["eval"] and "select" not in stage_config("eval", plain)["eval"]
    assert stage_config("eval_curve", plain)["eval"]["curve"] == plain["eval"]["curve"]
    # threads and loggers change no fingerprint; a learning rate does
    other = compose_config(["experiment=tiny", "eval.threads=2", "trainer.loggers=[console]", "launcher.threads_per_process=2"])
    assert stage_config("sft", OmegaConf.to_container(other, resolve=True)) == sft
    lr = compose_config(["experiment=tiny", "trainer.lr=1e-5"])
    assert differences({"config": sft}, {"config": stage_config("sft", OmegaConf.to_container(lr, resolve=True))}) \
        == ["trainer.lr: 0.0005 -> 1e-05"]


def test_inputs_are_fingerprinted_by_content(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"a" * 100)
    first = content_digest(model)
    assert first == content_digest(model) and first.startswith("sha256:")
    (model / "model.safetensors").write_bytes(b"b" * 100)  # same size, other weights
    assert content_digest(model) != first
    assert content_digest("Qwen/Qwen2.5-Math-7B") == "id:Qwen/Qwen2.5-Math-7B"


def test_the_grader_version_is_part_of_what_made_an_evaluation(tmp_path):
    data = tmp_path / "b.parquet"
    data.write_bytes(b"x")
    from omegaconf import OmegaConf

    plain = OmegaConf.to_container(compose_config(["experiment=tiny"]), resolve=True)
    fingerprint = stage_fingerprint("eval", plain, {"model": str(tmp_path), "benchmark": str(data)})
    from curiosft.scoring import get_grader

    assert fingerprint["grader"] == {"name": "curiosft", "version": str(get_grader("curiosft").version)}


def test_claiming_a_run_folder(tmp_path):
    run_dir = tmp_path / "run"
    fingerprint = {"stage": "sft", "config": {"trainer": {"lr": 1}}, "inputs": {"data": "sha256:1"}}
    # nothing there yet, or only configs: claimed as it is
    assert claim_run_dir(run_dir, fingerprint) is None
    assert json.loads((run_dir / "fingerprint.json").read_text()) == fingerprint
    (run_dir / "checkpoints").mkdir()
    # the same fingerprint: the work stays (the job resumes it)
    assert claim_run_dir(run_dir, fingerprint) is None and (run_dir / "checkpoints").is_dir()
    changed = {**fingerprint, "inputs": {"data": "sha256:2"}}
    assert stale_reason(run_dir, changed) == 'inputs.data: "sha256:1" -> "sha256:2"'
    with pytest.raises(ConfigError, match=r"inputs.data: \"sha256:1\" -> \"sha256:2\"\); delete or move it"):
        claim_run_dir(run_dir, changed, on_stale="error")
    messages = []
    moved = claim_run_dir(run_dir, changed, log=messages.append)
    assert moved.name.startswith("run.stale-") and (moved / "checkpoints").is_dir()
    assert not (run_dir / "checkpoints").exists() and "moved it to" in messages[0]
    # a folder with work but no fingerprint (made before they were recorded) is not resumed either
    (run_dir / "fingerprint.json").unlink()
    (run_dir / "model").mkdir()
    assert "has no fingerprint.json" in stale_reason(run_dir, changed)
    with pytest.raises(ConfigError, match="unknown stale_run .keep.; choose one of move_aside, error"):
        claim_run_dir(run_dir, changed, on_stale="keep")


def test_no_branch_on_a_stage_name_outside_the_stage_table(repo):
    """Everything that differs between stages is declared in curiosft.stages; code elsewhere asks the Stage
    (its outputs, manifest, preflight, fingerprint, label), never compares its name."""
    import re

    from curiosft.stages import STAGES

    names = "|".join(STAGES)
    branch = re.compile(rf"""\bstage\s*(==|!=)\s*["']({names})["']|\bstage\s+(not\s+)?in\s+\(["']({names})["']"""
                        rf"""|["']({names})["']\s+if\s+.*\bcurve\b""")
    files = [*(repo / "src" / "curiosft").rglob("*.py"), *(repo / "workflow").rglob("*.smk"), repo / "Snakefile"]
    found = [f"{path.relative_to(repo)}:{n}: {line.strip()}" for path in files if path.name != "stages.py"
             for n, line in enumerate(path.read_text().splitlines(), 1) if branch.search(line)]
    assert not found, "\n".join(found)


def test_the_stage_table_declares_each_stage():
    from curiosft.stages import get_stage, job_stage, job_stages, training_stages

    assert job_stages() == ["sft", "rl", "eval"] and training_stages() == ["sft", "rl"]
    assert job_stage("eval", curve=True).name == "eval_curve" and job_stage("sft", curve=True).name == "sft"
    sft, records = get_stage("sft"), get_stage("eval_curve")
    assert sft.manifest_path("/r/sft/run").as_posix() == "/r/sft/run/manifest.json"
    assert records.manifest_path("/r/curves/x/tiny_id.jsonl").as_posix() == "/r/curves/x/tiny_id.manifest.json"
    assert records.job_name(["/r/curves/rl/m/s/seed~1/tiny_id.jsonl", "/r/curves/rl/m/s/seed~1/tiny_mc.jsonl"]) \
        == "curiosft-eval-curve:m/s/seed~1/tiny_id+tiny_mc"
    assert (sft.graded, get_stage("rl").graded, records.graded) == (False, True, True)
    with pytest.raises(KeyError, match="stage 'world' is run by its workflow rule"):
        get_stage("world").run_entry_point()


def test_the_layout_spells_every_path_once():
    from curiosft.layout import Layout
    from curiosft.runid import RUN_PATTERN, RunId

    layout = Layout("r", "r/world", "r/data")
    run = RunId("rl", "sft", "none", 1)
    assert layout.model("base") == "r/world/model"
    assert layout.model(run.checkpoint) == "r/rl/method~sft/schedule~none/seed~1/model"
    assert layout.model(run.checkpoint_at(4)) == \
        "r/rl/method~sft/schedule~none/seed~1/checkpoints/global_step_4/actor/huggingface"
    assert layout.model(RunId("sft", "sft", "none", 1).checkpoint_at(4)).endswith("global_step_4/huggingface")
    assert layout.metrics(f"sft/{RUN_PATTERN}") == "r/sft/method~{method}/schedule~{schedule}/seed~{seed}/metrics.jsonl"
    assert layout.eval_records("{checkpoint}", "math500") == "r/eval/{checkpoint}/math500.jsonl"
    assert layout.curve_records(run.checkpoint, "tiny_id") == "r/curves/rl/method~sft/schedule~none/seed~1/tiny_id.jsonl"
    assert layout.selection(run.checkpoint) == "r/select/rl/method~sft/schedule~none/seed~1.json"
    assert (layout.benchmark_file("tiny_mc"), layout.benchmark_file("math500")) == \
        ("r/world/data/test_mc.parquet", "r/data/benchmarks/math500.parquet")
    assert layout.log("curves", "rl", "x") == "r/logs/curves/rl/x.log"


def test_each_stage_declares_its_resources():
    """A rule's threads, GPUs, Python and SLURM request come from its stage (curiosft.resources)."""
    from curiosft.stages import get_stage

    tiny = compose_config(["experiment=tiny"])
    sft, rl, ev = (get_stage(s).job_resources(tiny, "/py") for s in ("sft", "rl", "eval"))
    assert (sft.threads, sft.gpus, rl.threads, ev.threads, ev.gpus) == (1, 0, 1, 1, 0)
    assert ev.cli == "/py -m curiosft.cli" and ev.launcher_arg == ""
    paper = compose_config(["experiment=paper"])  # SLURM, 8 GPUs x 64 CPUs x 512 GB per node, vLLM
    sft, ev = get_stage("sft").job_resources(paper, "/py"), get_stage("eval").job_resources(paper, "/py")
    assert (sft.threads, sft.gpus) == (1, 8)
    assert ev.gpus == 1 and "launcher.gpus_per_node=1" in ev.launcher_arg and "launcher.cpus_per_task=8" in ev.launcher_arg


def test_a_protocol_preset_reaches_the_stages_that_read_what_it_sets():
    """protocol=<name> is a Hydra group whose options set eval.* and scoring.grader: it must reach the
    evaluations (and the RL reward's grader), never the SFT training; an override no stage reads is named."""
    from curiosft.stages import reaches, unread_overrides

    assert reaches("eval", "protocol=luffy") and reaches("eval_curve", "protocol=luffy")
    assert reaches("rl", "protocol=curiosft_release")  # scoring.grader is the reward's grader too
    assert not reaches("sft", "protocol=luffy") and not reaches("world", "protocol=luffy")
    assert unread_overrides(["protocol=luffy", "sweep.seeds=[1]", "eval.limit=3", "experiment=paper"]) == []
    assert unread_overrides(["eval.limit=3", "nothing.reads=1"]) == ["nothing.reads=1"]
