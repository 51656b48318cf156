"""Runs that cannot succeed are refused before any job starts: overlong SFT rows (measured with the
model's tokenizer and chat template, as verl's SFT dataset counts them) and context lengths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from curiosft.config import compose_config
from curiosft.data.lengths import measure_sft_lengths
from curiosft.data.records import sft_record
from curiosft.preflight import KEPT_ROWS, LENGTHS, PreflightError, check_context_length, check_sft_data


@pytest.fixture()
def overlong_data(smoke_world, tmp_path) -> Path:
    """The smoke SFT rows plus two demonstrations far over 96 + 160 tokens."""
    frame = pd.read_parquet(smoke_world / "world" / "data" / "sft_train.parquet")
    long = [sft_record("12 + 34", " ".join(["1 + 2 = 3."] * n), data_source="tiny") for n in (60, 90)]
    frame = pd.concat([frame.iloc[:5], pd.DataFrame(long), frame.iloc[5:]], ignore_index=True)
    path = tmp_path / "sft_train.parquet"
    frame.to_parquet(path, index=False)
    return path


def _cfg(smoke_world, data: Path, *extra: str):
    return compose_config(["experiment=smoke", f"paths.results={smoke_world}", f"data.sft_train={data}", *extra])


def test_lengths_are_what_verl_trains_on(smoke_world, overlong_data):
    """Our count equals verl's MultiTurnSFTDataset's sequence length, row by row."""
    from omegaconf import OmegaConf
    from transformers import AutoTokenizer
    from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset

    model = smoke_world / "world" / "model"
    report = measure_sft_lengths(overlong_data, model, progress=False)
    tokenizer = AutoTokenizer.from_pretrained(model)
    dataset = MultiTurnSFTDataset(str(overlong_data), tokenizer, OmegaConf.create(
        {"messages_key": "messages", "pad_mode": "no_padding", "max_length": 100_000, "truncation": "error"}))
    verl_lengths = [int(dataset[i]["input_ids"].shape[0]) for i in range(12)]
    assert list(report.lengths[:12]) == verl_lengths
    assert report.lengths[5] > 256 and report.lengths[6] > report.lengths[5]
    # measured once: the second call reads the cache next to the data
    assert list(overlong_data.parent.glob("sft_train.lengths-*.json"))
    assert measure_sft_lengths(overlong_data, model, progress=False) == report


def test_overlong_rows_fail_naming_them(smoke_world, overlong_data, tmp_path):
    cfg = _cfg(smoke_world, overlong_data)
    assert cfg.data.overlong == "error"
    with pytest.raises(PreflightError) as err:
        check_sft_data(cfg, tmp_path / "run", log=lambda m: None)
    lengths = json.loads((tmp_path / "run" / LENGTHS).read_text())
    message = str(err.value)
    assert f"2 of {lengths['rows']} SFT rows" in message and "= 256 tokens" in message
    assert f"row 6, {lengths['max']} tokens" in message and "data.overlong=drop" in message
    assert lengths["overlong_rows"] == [5, 6] and lengths["limit"] == 256


def test_drop_trains_without_them(smoke_world, overlong_data, tmp_path):
    cfg = _cfg(smoke_world, overlong_data, "data.overlong=drop")
    logged = []
    kept = check_sft_data(cfg, tmp_path, log=logged.append)
    assert kept == tmp_path / KEPT_ROWS
    original = pd.read_parquet(overlong_data)
    rows = pd.read_parquet(kept)
    assert len(rows) == len(original) - 2
    assert rows["messages"].map(str).tolist() == original.drop(index=[5, 6])["messages"].map(str).tolist()
    assert any("leaves out 2 of" in m for m in logged)
    # the verl config trains on the kept rows
    from curiosft.sft import prepare_run

    run = prepare_run(cfg, tmp_path / "run")
    from omegaconf import OmegaConf

    assert OmegaConf.load(run / "verl_config.yaml").data.train_files == str(run / KEPT_ROWS)


def test_cli_refuses_before_training(smoke_world, overlong_data, tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "curiosft.cli", "sft", "--out", str(run_dir), "experiment=smoke",
                           f"paths.results={smoke_world}", f"data.sft_train={overlong_data}"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("curiosft sft: 2 of ") and "Traceback" not in proc.stderr
    assert not (run_dir / "checkpoints").exists()


def test_context_length(smoke_world):
    model = smoke_world / "world" / "model"
    check_context_length(model, 256, "x")
    with pytest.raises(PreflightError, match=r"data.max_prompt_length \+ eval.max_new_tokens = 257 tokens.*"
                                             r"context of 256 tokens"):
        check_context_length(model, 257, "data.max_prompt_length + eval.max_new_tokens")
    # a hub id not in the local Hugging Face cache is checked where it is downloaded, not here
    check_context_length("Qwen/Qwen2.5-Math-7B", 10**6, "x")


def test_context_length_of_a_cached_hub_model(smoke_world, tmp_path, monkeypatch):
    """A hub id whose config.json is in the Hugging Face cache is checked before submission too."""
    import shutil

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    snapshot = tmp_path / "models--someone--tiny" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    shutil.copy(smoke_world / "world" / "model" / "config.json", snapshot / "config.json")
    (tmp_path / "models--someone--tiny" / "refs").mkdir()
    (tmp_path / "models--someone--tiny" / "refs" / "main").write_text("0" * 40)
    with pytest.raises(PreflightError, match="context of 256 tokens"):
        check_context_length("someone/tiny", 300, "data.max_prompt_length + data.max_response_length")


def test_context_length_before_submission(smoke_world, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "curiosft.cli", "eval", "--model", str(smoke_world / "world" / "model"),
                           "--benchmark", "tiny_id", "--data", str(smoke_world / "world" / "data" / "test_id.parquet"),
                           "--checkpoint", "base", "--out", str(tmp_path / "r.jsonl"), "experiment=smoke",
                           "eval.max_new_tokens=500"], capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "eval.max_new_tokens = 612 tokens" in proc.stderr and "context of 256" in proc.stderr
    assert not (tmp_path / "r.jsonl").exists()


def test_rope_scaling_extends_the_context(tmp_path):
    from curiosft.preflight import model_context_length

    (tmp_path / "config.json").write_text(json.dumps({
        "max_position_embeddings": 32768,
        "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}}))
    assert model_context_length(tmp_path) == 131072


# ------------------------------------------------------------------ the RL reward against what SFT teaches
LAYOUTS = Path(__file__).parent / "data" / "training_layouts"
# each shipped experiment's training set -> the layout of its rows in tests/data/training_layouts
EXPERIMENT_DATA = {"curiosft_data": "luffy", "openr1_math_46k": "luffy", "limo": "limo",
                   "math500_solutions": "math500"}


def _converted_sft_file(data_set: str, tmp_path: Path) -> Path:
    """The test rows of a training set's public layout, converted as prepare-data converts the real file."""
    from curiosft.data.converters import CONVERTERS
    from curiosft.data.registry import get_spec

    spec = get_spec(data_set)
    frame = pd.read_json(LAYOUTS / f"{EXPERIMENT_DATA[data_set]}.jsonl", lines=True)
    out = tmp_path / f"{data_set}_sft_train.parquet"
    pd.DataFrame(CONVERTERS[spec.layout](frame, spec)["sft_train.parquet"]).to_parquet(out)
    return out


def shipped_experiments() -> list[str]:
    from curiosft.paths import conf_dir

    return sorted(p.stem for p in (conf_dir() / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("experiment", shipped_experiments())
def test_every_shipped_experiment_rewards_what_its_sft_data_teaches(smoke_world, tmp_path, experiment):
    """Issue 26: paper_psft trained SFT on LIMO (no </think>) and then GRPO with rl.reward.format=rl, which
    pays 0 without a </think>: every rollout earned 0 and RL changed nothing. Each shipped experiment's
    reward is checked on its own data (the registered set's layout, converted; the tiny world's file)."""
    from curiosft.preflight import check_reward_format

    cfg = compose_config([f"experiment={experiment}", f"paths.results={smoke_world}"])
    if cfg.data.name != "tiny":
        cfg.data.sft_train = str(_converted_sft_file(cfg.data.name, tmp_path))
    assert Path(cfg.data.sft_train).is_file()
    check_reward_format(cfg)
    check_reward_format(compose_config([f"experiment={experiment}"]))  # before the data is prepared


def test_a_reward_that_needs_a_think_block_the_sft_data_never_writes_is_refused(tmp_path):
    from curiosft.preflight import check_reward_format

    limo = _converted_sft_file("limo", tmp_path)
    cfg = compose_config(["experiment=paper_psft", "rl.reward.format=rl", f"data.sft_train={limo}"])
    with pytest.raises(PreflightError, match=r"rl.reward.format=rl scores 0 without a </think> in the response, "
                                             r"but 3 of the first 3 SFT demonstrations in .* have none: .*"
                                             r"set rl.reward.format=eval"):
        check_reward_format(cfg)
    # before prepare-data wrote the file: the registered set's own property
    cfg = compose_config(["experiment=paper_psft", "rl.reward.format=rl"])
    with pytest.raises(PreflightError, match=r"the limo demonstrations \(data=limo\) have none"):
        check_reward_format(cfg)
    # the LUFFY-layout sets close their reasoning: rl format is right for them
    cfg = compose_config(["experiment=paper", f"data.sft_train={_converted_sft_file('curiosft_data', tmp_path)}"])
    assert cfg.rl.reward.format == "rl"
    check_reward_format(cfg)


# ------------------------------------------------------------------------------------ your own model
def _model_copy(smoke_world, tmp_path, drop=()) -> Path:
    """A copy of the smoke world's model folder without the files named in `drop`."""
    import shutil

    folder = tmp_path / "my-model"
    shutil.copytree(smoke_world / "world" / "model", folder)
    for name in drop:
        (folder / name).unlink()
    return folder


def test_a_model_folder_is_checked_before_any_job(smoke_world, tmp_path):
    from curiosft.preflight import check_model_path

    check_model_path(smoke_world / "world" / "model")
    with pytest.raises(PreflightError, match=r"model.path=/no/such/model: no such folder; point model.path at"):
        check_model_path("/no/such/model")
    with pytest.raises(PreflightError, match="has no config.json"):
        check_model_path(_model_copy(smoke_world, tmp_path / "a", drop=["config.json"]))
    with pytest.raises(PreflightError, match="has no tokenizer"):
        check_model_path(_model_copy(smoke_world, tmp_path / "b", drop=["tokenizer.json"]))
    no_template = _model_copy(smoke_world, tmp_path / "c")
    settings = json.loads((no_template / "tokenizer_config.json").read_text())
    settings.pop("chat_template", None)
    (no_template / "tokenizer_config.json").write_text(json.dumps(settings))
    for name in ("chat_template.jinja", "chat_template.json"):
        (no_template / name).unlink(missing_ok=True)
    with pytest.raises(PreflightError, match="the tokenizer has no chat template"):
        check_model_path(no_template, "--sft-model")


def test_a_hub_id_is_used_only_when_the_hub_is_reachable(tmp_path, monkeypatch):
    from curiosft.preflight import check_model_path, hub_reachable

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty local cache
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PreflightError, match=r"model.path=Qwen/Qwen2.5-Mth-7B: no such folder here, and as a hub id "
                                             r"it is neither in the local Hugging Face cache nor downloadable"):
        check_model_path("Qwen/Qwen2.5-Mth-7B", reachable=lambda: False)
    check_model_path("Qwen/Qwen2.5-Math-7B", reachable=lambda: True)
    # a path that does not look like a hub id is a folder, never a download
    with pytest.raises(PreflightError, match="models/v2/final: no such folder"):
        check_model_path("models/v2/final", reachable=lambda: True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_reachable() is False


def test_an_sft_row_without_an_answer_is_refused(smoke_world, tmp_path):
    from curiosft.preflight import check_sft_rows

    rows = pd.read_parquet(smoke_world / "world" / "data" / "sft_train.parquet").iloc[:4]
    assert check_sft_rows(smoke_world / "world" / "data" / "sft_train.parquet") > 4
    answerless = rows.copy()
    answerless.at[2, "messages"] = list(rows.at[2, "messages"])[:-1]  # system and user only
    answerless.to_parquet(tmp_path / "answerless.parquet", index=False)
    with pytest.raises(PreflightError, match=r"answerless.parquet: row 2 cannot be trained on: its roles are "
                                             r"\['system', 'user'\]"):
        check_sft_rows(tmp_path / "answerless.parquet")
    empty = rows.copy()
    empty.at[1, "messages"] = [*list(rows.at[1, "messages"])[:-1], {"role": "assistant", "content": "  "}]
    empty.to_parquet(tmp_path / "empty.parquet", index=False)
    with pytest.raises(PreflightError, match="row 1 cannot be trained on: its assistant turn .* is empty"):
        check_sft_rows(tmp_path / "empty.parquet")
    # the SFT job's own check refuses it before measuring or training
    with pytest.raises(PreflightError, match="row 2 cannot be trained on"):
        check_sft_data(_cfg(smoke_world, tmp_path / "answerless.parquet"), log=lambda m: None)


def test_curiosft_assets_prints_a_model_folder_the_preflight_accepts(smollm2, python):
    from curiosft.preflight import check_model_path

    proc = subprocess.run([python, "-m", "curiosft.cli", "assets", "smollm2", "--cache-dir", str(smollm2.parent)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(smollm2) and "SmolLM2-135M-Instruct" in proc.stderr
    check_model_path(proc.stdout.strip())


def test_tiny_world_settings_on_a_pretrained_model_are_named(smoke_world, tmp_path):
    """lr 5e-4, 100 new tokens and the tiny test sets are the tiny world's; on your model each is a warning
    naming the key and what to set (issue 34); the tiny world's own model draws none."""
    from curiosft.preflight import settings_warnings

    assert settings_warnings(compose_config(["experiment=tiny"])) == []
    mine = compose_config(["experiment=tiny", f"model.path={tmp_path}"])
    warnings = settings_warnings(mine)
    assert len(warnings) == 3, warnings
    assert warnings[0].startswith("trainer.lr=0.0005 is a from-scratch rate")
    assert "eval.benchmarks has tiny_id, the tiny world's test set" in warnings[1]
    fitted = compose_config(["experiment=tiny", f"model.path={tmp_path}", "trainer.lr=1e-5",
                             "eval.benchmarks=[math500,arc_challenge]"])
    assert settings_warnings(fitted) == ["eval.max_new_tokens=100 cuts most math500 answers short (they need ~501 "
                                         "tokens or more); raise eval.max_new_tokens"]
    assert settings_warnings(compose_config(["experiment=tiny", f"model.path={tmp_path}", "trainer.lr=1e-5",
                                             "eval.benchmarks=[math500,arc_challenge]",
                                             "eval.max_new_tokens=1024"])) == []
