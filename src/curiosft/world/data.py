"""Write the tiny world's data files in the normalised schema (curiosft.data.records)."""

from __future__ import annotations

import random
from pathlib import Path

from curiosft.benchmarks import get_benchmark
from curiosft.config.schema import WorldConfig
from curiosft.data.prompts import choice_prompt
from curiosft.data.records import choice_record, math_record, sft_record
from curiosft.io import write_parquet
from curiosft.world.arithmetic import Addition, multiple_choice, sample_addition
from curiosft.world.chat import render_chat

TINY_ID = "tiny_id"
TINY_MC = "tiny_mc"
TINY_TRAIN = "tiny_arith"

# file name -> what it holds
WORLD_DATA_FILES = {
    "pretrain.parquet": "base-model pretraining corpus (rendered chat transcripts, easier problems; a share "
                        "in the multiple-choice form)",
    "sft_train.parquet": "SFT demonstrations (verl messages)",
    "rl_train.parquet": "RL prompts with ground truth",
    get_benchmark(TINY_ID).world_file: "in-distribution test set (math, boxed answers)",
    get_benchmark(TINY_MC).world_file: "out-of-distribution multiple-choice test set (letter answers)",
}


def _unique_problems(rng: random.Random, digits: list[int], n: int, exclude: set[Addition]) -> list[Addition]:
    """n distinct problems not in `exclude` (test sets never overlap training)."""
    out: list[Addition] = []
    seen = set(exclude)
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 100 * n + 1000:
            raise ValueError(f"cannot draw {n} distinct problems with digits {digits}; widen the digit range")
        p = sample_addition(rng, digits)
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def _pretrain_text(problem: Addition, rng: random.Random, world: WorldConfig) -> dict:
    """A pretraining transcript: usually the SFT form; with probability pretrain_mc_fraction the
    multiple-choice form of the tiny_mc test set (so the base model knows that format and SFT, which never
    shows it, can make it forget). Its answer boxes the chosen option's value, which the grader maps to
    the option's letter: a 1M-parameter model cannot learn to look a sum up among the options (boxing the
    letter left it at chance), and the distractors are the sums of typical slips, so a slip picks one."""
    if rng.random() < world.pretrain_mc_fraction:
        choices, _ = multiple_choice(rng, problem, world.n_choices)
        messages = [*choice_prompt(problem.choice_question(), choices),
                    {"role": "assistant", "content": problem.working()}]
    else:
        messages = sft_record(problem.question(), problem.working(), data_source=TINY_TRAIN)["messages"]
    return {"text": render_chat(messages)}


def build_world_data(world: WorldConfig, out_dir: str | Path) -> dict[str, int]:
    """Generate every data file of the tiny world into out_dir; returns row counts per file."""
    out_dir = Path(out_dir)
    rng = random.Random(world.seed)
    test_id = _unique_problems(rng, list(world.test_digits), world.n_test_id, set())
    test_mc = _unique_problems(rng, list(world.test_digits), world.n_test_mc, set(test_id))
    held_out = set(test_id) | set(test_mc)
    sft = _unique_problems(rng, list(world.train_digits), world.n_sft, held_out)
    rl = _unique_problems(rng, list(world.train_digits), world.n_rl, held_out)
    pretrain = _unique_problems(rng, list(world.pretrain_digits), world.n_pretrain, held_out) if world.n_pretrain else []

    rows: dict[str, list[dict]] = {
        "pretrain.parquet": [_pretrain_text(p, rng, world) for p in pretrain],
        "sft_train.parquet": [
            sft_record(p.question(), p.working(), data_source=TINY_TRAIN, ground_truth=str(p.answer)) for p in sft
        ],
        "rl_train.parquet": [
            math_record(p.question(), str(p.answer), data_source=TINY_TRAIN, index=i, split="train")
            for i, p in enumerate(rl)
        ],
        get_benchmark(TINY_ID).world_file: [
            math_record(p.question(), str(p.answer), data_source=TINY_ID, index=i, split="test")
            for i, p in enumerate(test_id)
        ],
    }
    mc_rows = []
    for i, p in enumerate(test_mc):
        choices, answer_index = multiple_choice(rng, p, world.n_choices)
        mc_rows.append(
            choice_record(p.choice_question(), choices, answer_index, data_source=TINY_MC, index=i, split="test")
        )
    rows[get_benchmark(TINY_MC).world_file] = mc_rows
    for name, records in rows.items():
        if records:
            write_parquet(out_dir / name, records)
    return {name: len(records) for name, records in rows.items()}
