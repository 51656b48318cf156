"""The tiny world's three build steps, one per workflow rule: data, tokenizer, base model.

`build_world` runs all three in the workflow's layout (`<results>/world/{data,tokenizer,model}`), for the
callers that need a world outside the DAG: the test fixtures and the GPU check.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from curiosft.config.schema import WorldConfig
from curiosft.io import write_json


def build_tokenizer(world: WorldConfig, corpus: str | Path, out_dir: str | Path) -> int:
    """Train the tokenizer on the pretraining corpus; returns its vocabulary size."""
    from curiosft.world.tokenizer import save_tokenizer, train_tokenizer

    texts = pd.read_parquet(corpus)["text"].tolist()
    tokenizer = train_tokenizer(texts, world.vocab_size)
    save_tokenizer(tokenizer, out_dir)
    return len(tokenizer)


def build_base_model(world: WorldConfig, tokenizer_dir: str | Path, corpus: str | Path, test_file: str | Path,
                     out_dir: str | Path, report: str | Path) -> dict:
    """Pretrain the base model, save it (HF format), and report its greedy in-distribution accuracy."""
    from transformers import AutoTokenizer

    from curiosft.world.model import build_model, greedy_accuracy, pretrain, save_model

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    model = build_model(tokenizer, world.model, world.seed)
    texts = pd.read_parquet(corpus)["text"].tolist()
    losses = pretrain(model, tokenizer, texts, world.pretrain, world.seed)
    trained = time.perf_counter()
    save_model(model, tokenizer, out_dir)
    accuracy = float("nan")
    n_eval = min(world.pretrain.eval_problems, world.n_test_id)
    if n_eval:
        test = pd.read_parquet(test_file).head(n_eval)
        prompts = [[dict(m) for m in p] for p in test["prompt"]]
        answers = [rm["ground_truth"] for rm in test["reward_model"]]
        accuracy = greedy_accuracy(model, tokenizer, prompts, answers)
    summary = {
        "parameters": sum(p.numel() for p in model.parameters()),
        "vocab_size": len(tokenizer),
        "pretrain_steps": len(losses),
        "final_loss": sum(losses[-20:]) / len(losses[-20:]),
        "pretrain_seconds": round(trained - started, 1),
        "greedy_accuracy_test_id": accuracy,
        "eval_problems": n_eval,
    }
    write_json(report, summary)
    return summary


def build_world(world: WorldConfig, results: str | Path) -> dict:
    """Build the whole tiny world under `<results>/world/` as the workflow's three rules lay it out.

    Writes `data/*.parquet`, `tokenizer/`, `model/` and `base_model.json`; returns that summary (parameters,
    pretraining steps and seconds, greedy accuracy on `test_id`). Deterministic for `world.seed`.
    """
    from curiosft.world.data import build_world_data

    root = Path(results) / "world"
    data = root / "data"
    build_world_data(world, data)
    build_tokenizer(world, data / "pretrain.parquet", root / "tokenizer")
    return build_base_model(world, root / "tokenizer", data / "pretrain.parquet", data / "test_id.parquet",
                            root / "model", root / "base_model.json")
