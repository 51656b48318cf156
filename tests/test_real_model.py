"""Every stage on a real pretrained chat model (SmolLM2-135M-Instruct) and real benchmark rows.

As converted, its tokenizer has no pad token and names `<|im_start|>` as eos while the chat template
ends a turn with `<|im_end|>`; its vocabulary is 49,152 tokens. These are the conditions under which the
generators once crashed (no pad), kept [tokens x vocab] logits (memory), sampled with transformers'
top_k=50 and wrote past the end of the turn.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from curiosft.cpu_allocator import TRIM_THRESHOLD_BYTES
from curiosft.data.prepare import prepare_dataset
from curiosft.data.records import sft_record

pytestmark = pytest.mark.realmodel

IM_END, IM_START = "<|im_end|>", "<|im_start|>"
# what one process may hold: the 135M model in fp32 (~0.55 GB) and torch, plus the free heap glibc is told
# to keep during CPU decoding (curiosft.cpu_allocator: up to its trim threshold, 0.25 GB; peaks of 2.00 GB
# were seen with it); [tokens x vocab] logits of the 8 x 256 sampled tokens would add ~1.2 GB on their own
# (float32 logits, stacked, log-softmaxed)
EVAL_PEAK_RSS_GB = 2.0 + TRIM_THRESHOLD_BYTES / 2**30


def run_measured(args: list[str], timeout: int = 900) -> tuple[subprocess.CompletedProcess, float]:
    """`python -m curiosft.cli ARGS` in a fresh process; returns it and its peak resident memory (GB)."""
    code = ("import resource, sys, runpy\n"
            f"sys.argv = ['curiosft', *{args!r}]\n"
            "try:\n    runpy.run_module('curiosft.cli', run_name='__main__')\n"
            "finally:\n    print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    peaks = [line.split()[1] for line in proc.stderr.splitlines() if line.startswith("PEAK_RSS_KB")]
    return proc, (int(peaks[-1]) / 2**20 if peaks else math.nan)


@pytest.fixture(scope="module")
def benchmark_files(realdata, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("benchmarks")
    files = {}
    for name in ("math500", "arc_challenge"):
        prepare_dataset(name, out, local=str(realdata / name / "test.jsonl"), limit=4)
        files[name] = out / f"{name}.parquet"
    return files


@pytest.mark.parametrize("benchmark", ["math500", "arc_challenge"])
def test_eval_on_real_prompts(smollm2, benchmark_files, benchmark, tmp_path):
    out = tmp_path / f"{benchmark}.jsonl"
    proc, peak_gb = run_measured([
        "eval", "--model", str(smollm2), "--benchmark", benchmark, "--data", str(benchmark_files[benchmark]),
        "--checkpoint", "base", "--out", str(out), "--threads", "2", "experiment=tiny", "eval.backend=hf",
        "eval.n_samples=2", "eval.max_new_tokens=256", "eval.batch_size=4", "data.max_prompt_length=512"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 8
    for r in records:
        # a response is the model's own turn: nothing of a template turn after it
        assert IM_END not in r["response"] and IM_START not in r["response"], r["response"][-300:]
        assert r["finish_reason"] in ("stop", "length") and math.isfinite(r["mean_entropy"]) and r["mean_entropy"] > 0
        assert (r["response_length"] < 256) == (r["finish_reason"] == "stop")
        assert r["top_k"] is None
    assert any(r["finish_reason"] == "stop" for r in records)
    # each prompt's two samples are its own draws
    assert all(a["response"] != b["response"] for a, b in zip(records[::2], records[1::2]))
    assert peak_gb < EVAL_PEAK_RSS_GB, f"evaluation held {peak_gb:.2f} GB"


@pytest.fixture(scope="module")
def sft_rows(realdata, tmp_path_factory) -> Path:
    """MATH-500 problems and their worked solutions as demonstrations (many exceed the 256-token limit
    below: data.overlong=drop trains on the rest)."""
    rows = [json.loads(line) for line in (realdata / "math500" / "test.jsonl").read_text().splitlines()[:40]]
    path = tmp_path_factory.mktemp("sft") / "sft_train.parquet"
    pd.DataFrame([sft_record(r["problem"], r["solution"], data_source="math500") for r in rows]).to_parquet(path)
    return path


SHORT = ["data.max_prompt_length=128", "data.max_response_length=128", "data.overlong=drop",
         "trainer.global_batch_size=2", "trainer.micro_batch_size_per_device=1", "trainer.max_steps=2",
         "trainer.save_freq=2", "trainer.lr=1e-5", "model.dtype=float32",
         # a 135M model uses both cores (the tiny world's SFT runs at 1 thread, two jobs side by side)
         "launcher.threads_per_process=2"]


@pytest.mark.parametrize("method,schedule", [("sft", "none"), ("psft", "none"), ("curiosft", "entropy_guided")])
def test_sft_methods_on_the_real_model(smollm2, sft_rows, tmp_path, method, schedule):
    run = tmp_path / method
    extra = ["method.num_mini_batches=2"] if method == "psft" else []
    proc, _ = run_measured(["sft", "--out", str(run), "experiment=smoke", f"model.path={smollm2}",
                            f"data.sft_train={sft_rows}", f"method={method}", f"schedule={schedule}", *SHORT, *extra])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    lengths = json.loads((run / "data_lengths.json").read_text())
    assert 0 < lengths["over_limit"] < lengths["rows"] == 40 and lengths["limit"] == 256
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [1, 2]
    for m in metrics:
        for key in ("train/loss", "train/nll", "train/entropy", "train/grad_norm"):
            assert math.isfinite(m["data"][key]), (key, m["data"])
    from transformers import GenerationConfig

    assert 2 in GenerationConfig.from_pretrained(run / "model").eos_token_id  # <|im_end|>


def test_local_grpo_on_the_real_model(smollm2, benchmark_files, tmp_path):
    run = tmp_path / "rl"
    proc, _ = run_measured([
        "rl", "--sft-model", str(smollm2), "--out", str(run), "experiment=smoke",
        f"data.rl_train={benchmark_files['math500']}", "data.max_prompt_length=256", "rl.max_steps=1",
        "rl.batch_size=2", "rl.mini_batch_size=2", "rl.n_rollouts=2", "rl.micro_batch_size_per_device=2",
        "rl.rollout_batch_size=2", "rl.max_response_length=96", "rl.lr=1e-6"])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    (line,) = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    data = line["data"]
    assert all(math.isfinite(v) for v in data.values() if isinstance(v, float)), data
    assert 0 < data["train/response_length"] <= 96
    assert (run / "model" / "config.json").is_file()
