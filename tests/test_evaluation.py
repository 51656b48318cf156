"""Evaluation inputs: benchmark registry, prompts with recorded option shuffles, config checks."""

from __future__ import annotations

import pytest

from curiosft.benchmarks import benchmark_order, benchmarks, get_benchmark
from curiosft.data.records import choice_record, math_record
from curiosft.evaluation.prompts import load_eval_prompts
from curiosft.io import write_parquet


def test_registry_splits():
    ids = [n for n, b in benchmarks().items() if b.split == "id"]
    oods = [n for n, b in benchmarks().items() if b.split == "ood"]
    assert ids == ["aime24", "aime25", "amc23", "math500", "minerva_math", "olympiadbench", "tiny_id"]
    assert oods == ["gpqa_diamond", "arc_challenge", "mmlu_pro", "tiny_mc"]
    assert benchmark_order(["tiny_mc", "mmlu_pro", "aime25", "tiny_id"]) == ["aime25", "tiny_id", "mmlu_pro", "tiny_mc"]
    with pytest.raises(KeyError, match="unknown benchmark 'aime23'"):
        get_benchmark("aime23")


@pytest.fixture()
def choice_file(tmp_path):
    rows = [choice_record(f"Q{i}?", ["w", "x", "y", "z"], i % 4, data_source="tiny_mc", index=i, split="test")
            for i in range(12)]
    path = tmp_path / "mc.parquet"
    write_parquet(path, rows)
    return path


def test_choice_shuffle_is_recorded_reproducible_and_keeps_the_answer(choice_file):
    prompts = load_eval_prompts(str(choice_file), "tiny_mc", "multiple_choice", shuffle=True, shuffle_seed=7)
    again = load_eval_prompts(str(choice_file), "tiny_mc", "multiple_choice", shuffle=True, shuffle_seed=7)
    other = load_eval_prompts(str(choice_file), "tiny_mc", "multiple_choice", shuffle=True, shuffle_seed=8)
    assert prompts == again and prompts != other
    assert any(p.choice_order != [0, 1, 2, 3] for p in prompts)
    for p in prompts:
        original_answer = "wxyz"[p.prompt_id % 4]
        # the ground-truth letter points at the same option text after the shuffle
        assert p.choices["ABCD".index(p.ground_truth)] == original_answer
        assert [p.choices[new] for new in range(4)] == ["wxyz"[old] for old in p.choice_order]
        # the prompt shows the shuffled options
        assert f"({p.ground_truth}) {original_answer}" in p.messages[-1]["content"]


def test_no_shuffle_keeps_the_file_order(choice_file):
    prompts = load_eval_prompts(str(choice_file), "tiny_mc", "multiple_choice", shuffle=False, shuffle_seed=7, limit=3)
    assert len(prompts) == 3 and all(p.choice_order == [0, 1, 2, 3] for p in prompts)
    assert [p.ground_truth for p in prompts] == ["A", "B", "C"]


def test_math_prompts_and_bad_files(tmp_path):
    path = tmp_path / "m.parquet"
    write_parquet(path, [math_record("What is 1 + 1?", "2", data_source="tiny_id", index=0, split="test")])
    (prompt,) = load_eval_prompts(str(path), "tiny_id", "math", shuffle=True, shuffle_seed=0)
    assert prompt.ground_truth == "2" and prompt.messages[-1]["content"] == "What is 1 + 1?"
    with pytest.raises(ValueError, match="cannot read benchmark file .*nope.parquet"):
        load_eval_prompts(str(tmp_path / "nope.parquet"), "tiny_id", "math", shuffle=False, shuffle_seed=0)


def test_eval_config_is_checked():
    from curiosft.config import ConfigError, compose_config

    with pytest.raises(ConfigError, match="unknown eval.backend 'tgi'"):
        compose_config(["eval.backend=tgi"])
    with pytest.raises(ConfigError, match="eval.n_samples_per_benchmark.mmlu_pro=0 must be >= 1"):
        compose_config(["eval.n_samples_per_benchmark.mmlu_pro=0"])
    cfg = compose_config(["experiment=paper"])
    assert (cfg.eval.backend, cfg.eval.temperature, cfg.eval.max_new_tokens, cfg.eval.n_samples) == ("vllm", 0.6, 8192, 8)
    assert cfg.eval.n_samples_per_benchmark["mmlu_pro"] == 1


@pytest.fixture(scope="module")
def smoke_model(tmp_path_factory):
    """A smoke-size world with a briefly pretrained base model (HF format) and its test sets."""
    from omegaconf import OmegaConf

    from curiosft.config import compose_config
    from curiosft.world.build import build_base_model, build_tokenizer
    from curiosft.world.data import build_world_data

    root = tmp_path_factory.mktemp("world")
    world = OmegaConf.to_object(compose_config(["experiment=smoke"]).world)
    world.pretrain.steps, world.pretrain.eval_problems = 10, 0
    build_world_data(world, root / "data")
    build_tokenizer(world, root / "data" / "pretrain.parquet", root / "tok")
    build_base_model(world, root / "tok", root / "data" / "pretrain.parquet", root / "data" / "test_id.parquet",
                     root / "model", root / "model.json")
    return root


def test_hf_generation_is_seeded_and_reports_length_and_entropy(smoke_model):
    from curiosft.evaluation.generation import HFGenerator, SamplingSettings

    gen = HFGenerator.from_pretrained(str(smoke_model / "model"), batch_size=3, threads=1)
    prompts = [[{"role": "user", "content": f"What is {i} + {i + 1}?"}] for i in range(4)]
    settings = SamplingSettings(n=3, temperature=1.0, top_p=1.0, max_new_tokens=24, seed=5)
    first = gen.generate(prompts, settings)
    assert len(first) == 4 and all(len(samples) == 3 for samples in first)
    assert gen.generate(prompts, settings) == first
    assert gen.generate(prompts, SamplingSettings(**{**settings.__dict__, "seed": 6})) != first
    for samples in first:
        for c in samples:
            assert 1 <= c.num_tokens <= 24 and c.mean_entropy >= 0
    greedy = gen.generate(prompts[:1], SamplingSettings(n=2, temperature=0.0, top_p=1.0, max_new_tokens=24))
    assert greedy[0][0] == greedy[0][1]
    assert gen.tokenizer.padding_side == "right"


def test_a_curve_job_evaluates_several_checkpoints_into_one_records_file(smoke_model, tmp_path):
    """Issue 29: a run's saved steps in one job (one start-up); each record names its own checkpoint, and the
    records equal those of separate jobs (per-prompt seeds: nothing depends on what else the job evaluated)."""
    from omegaconf import OmegaConf

    from curiosft.config import compose_config
    from curiosft.errors import ConfigError
    from curiosft.evaluation.records import FIELDS, read_records
    from curiosft.evaluation.run import evaluate_checkpoint, evaluate_checkpoints, evaluated_models

    eval_cfg = OmegaConf.to_object(compose_config(["experiment=smoke", "eval.limit=3", "eval.max_new_tokens=24"]).eval)
    model, data = str(smoke_model / "model"), str(smoke_model / "data" / "test_id.parquet")
    names = ["sft/method~sft/schedule~none/seed~1", "sft/method~sft/schedule~none/seed~2"]
    together = tmp_path / "together.jsonl"
    summaries = evaluate_checkpoints(eval_cfg, checkpoints=[(n, model) for n in names],
                                     benchmarks=[("tiny_id", data, str(together))], threads=1)
    assert [s["checkpoint"] for s in summaries] == names
    both = read_records([together], columns=FIELDS)
    for name in names:
        alone = tmp_path / f"{name.replace('/', '_')}.jsonl"
        evaluate_checkpoint(eval_cfg, model_dir=model, benchmark="tiny_id", data_file=data, out=str(alone),
                            checkpoint=name, threads=1)
        mine = both[both["checkpoint"] == name].reset_index(drop=True)
        assert len(mine) == 3 * eval_cfg.n_samples
        assert mine["response"].tolist() == read_records([alone], columns=FIELDS)["response"].tolist()
    with pytest.raises(ConfigError, match="give one checkpoint name per model folder: 1 checkpoints"):
        evaluated_models(["/a", "/b"], names[:1])


def test_one_job_evaluates_a_checkpoint_on_every_benchmark_as_separate_jobs_would(smoke_model, tmp_path):
    """Issue 29: a checkpoint on both benchmarks in one job (one start-up, one model load): one records file
    per benchmark, equal to what a job per benchmark writes; every model folder is checked before anything
    is generated."""
    from omegaconf import OmegaConf

    from curiosft.config import compose_config
    from curiosft.errors import ConfigError, MissingInputError
    from curiosft.evaluation.records import FIELDS, read_records
    from curiosft.evaluation.run import evaluate_checkpoint, evaluate_checkpoints, evaluated_benchmarks

    eval_cfg = OmegaConf.to_object(compose_config(["experiment=smoke", "eval.limit=3", "eval.max_new_tokens=24"]).eval)
    model, data = str(smoke_model / "model"), smoke_model / "data"
    tasks = [("tiny_id", str(data / "test_id.parquet"), str(tmp_path / "together" / "tiny_id.jsonl")),
             ("tiny_mc", str(data / "test_mc.parquet"), str(tmp_path / "together" / "tiny_mc.jsonl"))]
    summaries = evaluate_checkpoints(eval_cfg, checkpoints=[("base", model)], benchmarks=tasks, threads=1)
    assert [s["benchmark"] for s in summaries] == ["tiny_id", "tiny_mc"]
    assert all(s["load_seconds"] == summaries[0]["load_seconds"] for s in summaries)  # one model load
    for name, data_file, together in tasks:
        alone = tmp_path / "alone" / f"{name}.jsonl"
        evaluate_checkpoint(eval_cfg, model_dir=model, benchmark=name, data_file=data_file, out=str(alone),
                            checkpoint="base", threads=1)
        mine, theirs = read_records([together], columns=FIELDS), read_records([alone], columns=FIELDS)
        assert set(mine["benchmark"]) == {name} and len(mine) == 3 * eval_cfg.n_samples
        columns = ["prompt_id", "sample", "response", "score"]
        assert mine[columns].equals(theirs[columns])
    with pytest.raises(ConfigError, match="one data file and one records file per benchmark: 2 benchmarks"):
        evaluated_benchmarks(["tiny_id", "tiny_mc"], ["/a.parquet"], ["/a.jsonl", "/b.jsonl"])
    with pytest.raises(ConfigError, match="each benchmark and records file once"):
        evaluated_benchmarks(["tiny_id", "tiny_id"], ["/a", "/b"], ["/a.jsonl", "/b.jsonl"])
    # a curve job whose last step is missing fails before it generates anything for the first
    out = tmp_path / "missing" / "tiny_id.jsonl"
    with pytest.raises(MissingInputError, match="no Hugging Face model at"):
        evaluate_checkpoints(eval_cfg, checkpoints=[("base", model), ("sft/method~sft/schedule~none/seed~1",
                                                                      str(tmp_path))],
                             benchmarks=[("tiny_id", tasks[0][1], str(out))], threads=1)
    assert not out.parent.exists()


def test_evaluate_checkpoint_writes_one_record_per_prompt_and_sample(smoke_model, tmp_path):
    from omegaconf import OmegaConf

    from curiosft.config import compose_config
    from curiosft.evaluation.records import FIELDS, read_records
    from curiosft.evaluation.run import evaluate_checkpoint

    eval_cfg = OmegaConf.to_object(compose_config(["experiment=smoke", "eval.limit=5", "eval.max_new_tokens=48"]).eval)
    out = tmp_path / "base" / "tiny_mc.jsonl"
    summary = evaluate_checkpoint(eval_cfg, model_dir=str(smoke_model / "model"), benchmark="tiny_mc",
                                  data_file=str(smoke_model / "data" / "test_mc.parquet"), out=str(out),
                                  checkpoint="base", threads=1)
    records = read_records([out], columns=FIELDS)
    assert summary["records"] == len(records) == 5 * eval_cfg.n_samples
    assert set(records["split"]) == {"ood"} and set(records["kind"]) == {"multiple_choice"}
    assert sorted(set(records["prompt_id"])) == [0, 1, 2, 3, 4]
    assert records["reason"].isin(["correct choice", "wrong choice", "no choice found"]).all()
    # each record names its grader and keeps the options it was graded against (curiosft regrade needs them)
    assert set(records["grader"]) == {"curiosft"} and set(records["grader_version"]) == {"4"}
    # ... and the backend that sampled it (hf and vllm sample differently: numbers from the two differ)
    assert set(records["backend"]) == {"hf"} and summary["backend"] == "hf"
    assert all(len(c) == 4 for c in records["choices"])
    with pytest.raises(FileNotFoundError, match="no Hugging Face model at"):
        evaluate_checkpoint(eval_cfg, model_dir=str(tmp_path), benchmark="tiny_mc",
                            data_file=str(smoke_model / "data" / "test_mc.parquet"), out=str(out), checkpoint="base")


def test_records_name_the_protocol_and_its_system_message_reaches_the_prompt(smoke_model, tmp_path):
    """protocol=qwen25_math_cot (greedy, one sample) with a shorter budget: every record says so; LUFFY's
    preset drops the data's system message, which changes what the model is given."""
    from omegaconf import OmegaConf

    from curiosft.config import compose_config
    from curiosft.evaluation.prompts import load_eval_prompts
    from curiosft.evaluation.records import FIELDS, read_records
    from curiosft.evaluation.run import evaluate_checkpoint

    data = str(smoke_model / "data" / "test_id.parquet")
    cfg = compose_config(["experiment=smoke", "protocol=qwen25_math_cot", "eval.limit=3", "eval.max_new_tokens=24",
                          "eval.backend=hf"])
    out = tmp_path / "base" / "tiny_id.jsonl"
    evaluate_checkpoint(OmegaConf.to_object(cfg.eval), model_dir=str(smoke_model / "model"), benchmark="tiny_id",
                        data_file=data, out=str(out), checkpoint="base", threads=1,
                        scoring=OmegaConf.to_object(cfg.scoring))
    records = read_records([out], columns=FIELDS)
    assert len(records) == 3 and set(records["temperature"]) == {0.0}
    assert set(records["protocol"]) == {"qwen25_math_cot (changed: max_new_tokens=24)"}
    luffy = OmegaConf.to_object(compose_config(["experiment=smoke", "protocol=luffy"]).eval)
    kept = load_eval_prompts(data, "tiny_id", "math", shuffle=False, shuffle_seed=0, limit=1)
    dropped = load_eval_prompts(data, "tiny_id", "math", shuffle=False, shuffle_seed=0, limit=1,
                                system_prompt=luffy.system_prompt)
    assert kept[0].messages[0]["role"] == "system"
    assert [m["role"] for m in dropped[0].messages] == ["user"]
