"""Synthetic results in the exact on-disk layout of a real sweep: for tests, the report benchmark and
trying the notebook without training anything. Never used by the workflow.

Each (method, seed) gets its own skill; each prompt its own difficulty, so pass@k rises with k.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

from curiosft.benchmarks import get_benchmark
from curiosft.evaluation.records import write_records
from curiosft.io import atomic_path
from curiosft.layout import Layout
from curiosft.runid import RunId, parse_checkpoint

DEFAULT_RUNS = (("sft", "none"), ("psft", "none"), ("curiosft", "entropy_guided"), ("curiosft", "fixed"))
SKILL = {"base": -0.6, "sft": 0.0, "psft": 0.1, "curiosft": 0.25, "entropy_reg": -0.05, "dft": 0.05}


def checkpoints(stage: str, runs: Sequence[tuple[str, str]], seeds: Sequence[int]) -> list[str]:
    return [RunId(stage, m, s, seed).checkpoint for m, s in runs for seed in seeds]


def synthetic_records(checkpoint: str, benchmark: str, *, prompts: int = 20, n: int = 4,
                      response_chars: int = 40) -> Iterator[dict]:
    run_id, step = parse_checkpoint(checkpoint)
    run = run_id.as_dict()
    spec = get_benchmark(benchmark)
    rng = random.Random(f"{checkpoint}:{benchmark}")
    skill = SKILL.get(run["method"], 0.0) + (0.15 if run["stage"] == "rl" else 0.0) + rng.gauss(0, 0.05)
    if step is not None:  # a checkpoint saved during training: skill rises with the step, then levels off
        skill -= 0.4 * 0.9**step
    entropy = 0.3 + 0.2 * skill + rng.random() * 0.05
    for prompt_id in range(prompts):
        difficulty = random.Random(f"{benchmark}:{prompt_id}").gauss(0, 1)
        p_correct = 1 / (1 + pow(2.718281828, 2.0 * (difficulty - skill)))
        first: dict[str, int] = {}
        for sample in range(n):
            correct = rng.random() < p_correct
            answer = str(prompt_id) if correct else str(prompt_id + 1)
            first.setdefault(answer, sample)
            yield {
                "checkpoint": checkpoint, **run, "step": step, "benchmark": benchmark, "split": spec.split, "kind": spec.kind,
                "prompt_id": prompt_id, "sample": sample, "n_samples": n, "temperature": 0.6, "top_p": 1.0,
                "top_k": None, "backend": None,
                "ground_truth": str(prompt_id), "response": ("x" * response_chars) + f" \\boxed{{{answer}}}",
                "extracted": answer, "answer_class": first[answer], "score": float(correct), "reason": "boxed match" if correct else "wrong answer",
                "response_length": rng.randint(20, 200), "finish_reason": "stop", "mean_entropy": max(0.0, rng.gauss(entropy, 0.05)),
                "choice_order": [], "choices": None,
                # drawn, not graded (benchmarks and report tests): no grader scored these
                "grader": "synthetic", "grader_version": "0", "protocol": "custom",
            }


def write_training_metrics(path: Path, checkpoint: str, steps: int = 30) -> None:
    run = RunId.parse(checkpoint).as_dict()
    rng = random.Random(checkpoint)
    floor = {"sft": 0.05, "psft": 0.12, "curiosft": 0.2}.get(run["method"], 0.1)
    with atomic_path(path) as tmp, open(tmp, "w") as out:
        for step in range(1, steps + 1):
            data = {"train/entropy": floor + 0.5 * 0.9**step + rng.gauss(0, 0.01),
                    "train/nll": 0.1 + 2.0 * 0.85**step + rng.gauss(0, 0.01), "train/lr": 1e-5}
            if run["stage"] == "rl":
                data["train/reward"] = min(1.0, 0.3 + 0.01 * step + rng.gauss(0, 0.02))
            out.write(json.dumps({"data": data, "run": run, "step": step}) + "\n")


def write_synthetic_results(results: str | Path, *, runs: Sequence[tuple[str, str]] = DEFAULT_RUNS,
                            seeds: Sequence[int] = (1, 2), benchmarks: Sequence[str] = ("tiny_id", "tiny_mc"),
                            prompts: int = 20, n: int = 4, with_base: bool = True, with_rl: bool = False,
                            response_chars: int = 40) -> tuple[list[Path], list[Path]]:
    """Write results/eval/**.jsonl and results/{sft,rl}/**/metrics.jsonl; return (record files, metrics files)."""
    results = Path(results)
    layout = Layout(str(results), f"{results}/world", f"{results}/data")  # the workflow's paths (curiosft.layout)
    evaluated = (["base"] if with_base else []) + checkpoints("sft", runs, seeds)
    trained = checkpoints("sft", runs, seeds)
    if with_rl:
        evaluated += checkpoints("rl", runs, seeds)
        trained += checkpoints("rl", runs, seeds)
    record_files = []
    for checkpoint in evaluated:
        for benchmark in benchmarks:
            path = Path(layout.eval_records(checkpoint, benchmark))
            write_records(path, synthetic_records(checkpoint, benchmark, prompts=prompts, n=n,
                                                  response_chars=response_chars))
            record_files.append(path)
    metric_files = []
    for checkpoint in trained:
        path = Path(layout.metrics(checkpoint))
        write_training_metrics(path, checkpoint)
        metric_files.append(path)
    return record_files, metric_files
