"""The tiny world: correct working, no train/test overlap, deterministic for a seed, Qwen-style chat."""

from __future__ import annotations

import hashlib
import random
import re
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from curiosft.config import compose_config
from curiosft.world.arithmetic import Addition, multiple_choice, sample_addition
from curiosft.world.chat import render_chat
from curiosft.world.data import build_world_data


@pytest.fixture(scope="module")
def world():
    return OmegaConf.to_object(compose_config(["experiment=smoke"]).world)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_working_is_correct_arithmetic():
    rng = random.Random(0)
    for _ in range(500):
        p = sample_addition(rng, [1, 6])
        text = p.working()
        written = [int(d) for d in re.findall(r"write (\d)", text)]
        assert int("".join(map(str, reversed(written)))) == p.answer
        for x, y, c, total in re.findall(r"(\d)\+(\d)\+(\d)=(\d+)", text):
            assert int(x) + int(y) + int(c) == int(total)
        assert text.startswith("<think>\n") and text.endswith(f"\\boxed{{{p.answer}}}.")
        assert "</think>" in text


def test_multiple_choice_has_one_correct_option():
    rng = random.Random(1)
    for _ in range(200):
        p = sample_addition(rng, [2, 4])
        choices, answer = multiple_choice(rng, p, 4)
        assert len(set(choices)) == 4 and choices[answer] == str(p.answer)
        assert sum(c == str(p.answer) for c in choices) == 1


def test_world_data_is_deterministic_and_disjoint(tmp_path, world):
    build_world_data(world, tmp_path / "a")
    build_world_data(world, tmp_path / "b")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    other = OmegaConf.to_object(compose_config(["experiment=smoke", "world.seed=7"]).world)
    build_world_data(other, tmp_path / "c")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")

    def questions(name):
        df = pd.read_parquet(tmp_path / "a" / name)
        if "prompt" in df:
            return {p[-1]["content"].split("\n")[0] for p in df["prompt"]}
        return {m[1]["content"] for m in df["messages"]}

    test_q = questions("test_id.parquet")
    assert len(test_q) == world.n_test_id
    assert not test_q & questions("sft_train.parquet")
    assert not test_q & questions("rl_train.parquet")


def test_world_data_has_the_normalised_schema(tmp_path, world):
    counts = build_world_data(world, tmp_path)
    assert counts["sft_train.parquet"] == world.n_sft
    sft = pd.read_parquet(tmp_path / "sft_train.parquet")
    roles = [m["role"] for m in sft["messages"][0]]
    assert roles == ["system", "user", "assistant"]
    rl = pd.read_parquet(tmp_path / "rl_train.parquet")
    assert list(rl.columns) == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    row = rl.iloc[0]
    assert row["ability"] == "math" and row["reward_model"]["style"] == "rule"
    mc = pd.read_parquet(tmp_path / "test_mc.parquet").iloc[0]
    assert mc["ability"] == "multiple_choice" and mc["reward_model"]["ground_truth"] in "ABCD"
    letter_index = "ABCD".index(mc["reward_model"]["ground_truth"])
    assert f"({mc['reward_model']['ground_truth']}) {mc['extra_info']['choices'][letter_index]}" in mc["prompt"][1]["content"]


def test_tokenizer_splits_digits_renders_qwen_chat_and_is_deterministic(tmp_path, world):
    from transformers import AutoTokenizer

    from curiosft.world.build import build_tokenizer

    build_world_data(world, tmp_path / "data")
    corpus = tmp_path / "data" / "pretrain.parquet"
    build_tokenizer(world, corpus, tmp_path / "tok1")
    build_tokenizer(world, corpus, tmp_path / "tok2")
    assert _digest(tmp_path / "tok1") == _digest(tmp_path / "tok2")

    tok = AutoTokenizer.from_pretrained(tmp_path / "tok1")
    pieces = [tok.decode([i]) for i in tok("12345 + 678", add_special_tokens=False)["input_ids"]]
    assert [p for p in pieces if p.strip().isdigit()] == list("12345678")
    messages = pd.read_parquet(tmp_path / "data" / "sft_train.parquet")["messages"][0].tolist()
    for gen in (False, True):
        assert tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen) == render_chat(messages, gen)
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    assert tok.decode(tok(render_chat(messages), add_special_tokens=False)["input_ids"]) == render_chat(messages)


def test_base_model_pretraining_is_deterministic(tmp_path, world):
    """Two builds with the same seed give byte-identical weights (smoke size, a handful of steps)."""
    from curiosft.world.build import build_base_model, build_tokenizer

    world.pretrain.steps = 3
    world.pretrain.eval_problems = 2
    build_world_data(world, tmp_path / "data")
    build_tokenizer(world, tmp_path / "data" / "pretrain.parquet", tmp_path / "tok")
    digests = []
    for name in ("m1", "m2"):
        report = build_base_model(world, tmp_path / "tok", tmp_path / "data" / "pretrain.parquet",
                                  tmp_path / "data" / "test_id.parquet", tmp_path / name, tmp_path / f"{name}.json")
        assert report["pretrain_steps"] == 3 and 0.0 <= report["greedy_accuracy_test_id"] <= 1.0
        digests.append(hashlib.sha256((tmp_path / name / "model.safetensors").read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tmp_path / "m1")
    assert model.config.model_type == "qwen2"
    assert model.generation_config.eos_token_id == model.config.eos_token_id


def test_addition_question_forms():
    p = Addition(12, 345)
    assert p.question() == "What is 12 + 345?"
    assert "sum of 12 and 345" in p.choice_question()
