"""Evaluate one checkpoint on one benchmark: prompts -> samples -> scores -> per-sample records."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from curiosft.errors import ConfigError, MissingInputError
from curiosft.evaluation.benchmarks import get_benchmark
from curiosft.evaluation.generation import SamplingSettings, make_generator
from curiosft.evaluation.prompts import check_prompt_lengths, load_eval_prompts
from curiosft.evaluation.records import write_records
from curiosft.vllm_env import gpu_available
from curiosft.runid import parse_checkpoint
from curiosft.runs import model_step
from curiosft.scoring import ScoreItem, ScoringPool


def sampling_settings(eval_cfg, benchmark: str) -> SamplingSettings:
    return SamplingSettings(n=eval_cfg.samples_for(benchmark), temperature=eval_cfg.temperature,
                            top_p=eval_cfg.top_p, top_k=eval_cfg.top_k, max_new_tokens=eval_cfg.max_new_tokens,
                            seed=eval_cfg.seed)


def run_eval(cfg, out: str, *, model_dir: str | Sequence[str], checkpoint: str | Sequence[str],
             threads: int | None = None, curve: bool = False, **kwargs) -> dict | list[dict]:
    """The evaluation stage (curiosft.launcher's stage table): evaluate_checkpoints with the run's typed `eval`
    section (with curve=True its curve protocol: eval.curve's samples and prompt limit); threads default to
    the job's (curiosft.topology: processes x threads per process). `model_dir` and `checkpoint` are one
    checkpoint, or equal-length lists (the saved steps of one run, evaluated over training in one job:
    one start-up, one records file); the summary is a dict, or one per checkpoint."""
    from omegaconf import OmegaConf

    from curiosft.config.schema import EvalConfig, ScoringConfig
    from curiosft.topology import job_topology

    topo = job_topology(cfg.launcher)
    threads = threads or topo.threads_per_process * topo.nproc_per_node
    eval_cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(EvalConfig), cfg.eval))
    if curve:
        eval_cfg = eval_cfg.for_curve()
    scoring = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(ScoringConfig), cfg.scoring))
    single = isinstance(checkpoint, str)
    summaries = evaluate_checkpoints(eval_cfg, checkpoints=evaluated_models(model_dir, checkpoint), out=out,
                                     threads=threads, scoring=scoring, **kwargs)
    return summaries[0] if single else summaries


def evaluated_models(model_dir: str | Sequence[str], checkpoint: str | Sequence[str]) -> list[tuple[str, str]]:
    """[(checkpoint, model folder)] from one of each or two equal-length lists (ConfigError otherwise)."""
    models = [model_dir] if isinstance(model_dir, str) else list(model_dir)
    names = [checkpoint] if isinstance(checkpoint, str) else list(checkpoint)
    if len(models) != len(names) or not models:
        raise ConfigError(f"give one checkpoint name per model folder: {len(names)} checkpoints "
                          f"({', '.join(names)}) for {len(models)} model folders")
    return list(zip(names, models))


def evaluate_checkpoints(eval_cfg, *, checkpoints: Sequence[tuple[str, str]], out: str, **kwargs) -> list[dict]:
    """Evaluate each (checkpoint, model folder) in turn and write all their records to `out` (one file, written
    once at the end, atomically); a summary per checkpoint. `kwargs`: evaluate_checkpoint's."""
    records, summaries = [], []
    for checkpoint, model_dir in checkpoints:
        mine, summary = checkpoint_records(eval_cfg, model_dir=model_dir, checkpoint=checkpoint, **kwargs)
        records += mine
        summaries.append(summary)
    write_records(out, records)
    return summaries


def evaluate_checkpoint(eval_cfg, *, model_dir: str, benchmark: str, data_file: str, out: str, checkpoint: str,
                        threads: int | None = None, max_model_len: int | None = None, scoring=None) -> dict:
    """Write `out` (JSONL records) and return a summary {benchmark, checkpoint, records, accuracy, ...}.

    `eval_cfg` is the `eval` section of the composed config (curiosft.config.schema.EvalConfig), `scoring`
    its `scoring` section (ScoringConfig; default: the default grader); every record names the grader.
    """
    return evaluate_checkpoints(eval_cfg, checkpoints=[(checkpoint, model_dir)], out=out, benchmark=benchmark,
                                data_file=data_file, threads=threads, max_model_len=max_model_len,
                                scoring=scoring)[0]


def checkpoint_records(eval_cfg, *, model_dir: str, benchmark: str, data_file: str, checkpoint: str,
                       threads: int | None = None, max_model_len: int | None = None,
                       scoring=None) -> tuple[list[dict], dict]:
    """(records, summary) of one checkpoint on one benchmark: evaluate_checkpoint without the writing."""
    from curiosft.config.schema import ScoringConfig

    scoring = scoring or ScoringConfig()
    spec = get_benchmark(benchmark)
    run_id, step = parse_checkpoint(checkpoint)
    run = run_id.as_dict()
    if not Path(model_dir, "config.json").is_file():
        raise MissingInputError(f"no Hugging Face model at {model_dir} (config.json missing); train or export it first")
    held = model_step(model_dir)
    if step is not None and held is not None and held != step:
        raise MissingInputError(f"checkpoint {checkpoint} names step {step}, but {model_dir} holds step {held}")
    step = step if step is not None else held
    if max_model_len is not None:
        from curiosft.preflight import check_context_length

        check_context_length(model_dir, max_model_len, "data.max_prompt_length + eval.max_new_tokens")
    prompts = load_eval_prompts(data_file, benchmark, spec.kind, shuffle=eval_cfg.shuffle_choices,
                                shuffle_seed=eval_cfg.shuffle_seed, limit=eval_cfg.limit)
    settings = sampling_settings(eval_cfg, benchmark)
    if max_model_len is not None:
        from transformers import AutoTokenizer

        check_prompt_lengths(prompts, AutoTokenizer.from_pretrained(model_dir), max_model_len - settings.max_new_tokens,
                             benchmark)
    # the scoring workers start while the model loads and generates
    with ScoringPool(eval_cfg.scoring_workers, scoring.timeout_s, scoring.grader) as pool:
        started = time.perf_counter()
        generator = make_generator(eval_cfg.backend, model_dir, eval_cfg, threads=threads,
                                   max_model_len=max_model_len)
        completions = generator.generate([p.messages for p in prompts], settings, [p.prompt_id for p in prompts])
        generate_s = time.perf_counter() - started
        device = getattr(generator, "device", "cuda" if eval_cfg.backend == "vllm" and gpu_available() else "cpu")
        if hasattr(generator, "close"):
            generator.close()
        pairs = [(p, i, c) for p, samples in zip(prompts, completions) for i, c in enumerate(samples)]
        grades = pool.score([ScoreItem(c.text, p.ground_truth, p.kind, p.choices) for p, _, c in pairs],
                            progress=True)
        classes = pool.sample_classes([p.kind for p, _, _ in pairs], [p.prompt_id for p, _, _ in pairs], grades)
    records = [
        {
            "checkpoint": checkpoint, **run, "step": step, "benchmark": benchmark, "split": spec.split, "kind": spec.kind,
            "prompt_id": p.prompt_id, "sample": i, "n_samples": settings.n, "temperature": settings.temperature,
            "top_p": settings.top_p, "top_k": settings.top_k, "backend": eval_cfg.backend,
            "ground_truth": p.ground_truth, "response": c.text,
            "extracted": g.extracted, "answer_class": k, "score": g.score, "reason": g.reason, "response_length": c.num_tokens,
            "finish_reason": c.finish_reason, "mean_entropy": c.mean_entropy, "choice_order": p.choice_order,
            "choices": list(p.choices) if p.kind == "multiple_choice" else None,
            "grader": pool.grader.name, "grader_version": pool.grader.version,
        }
        for (p, i, c), g, k in zip(pairs, grades, classes)
    ]
    n = len(records)
    return records, {
        "benchmark": benchmark, "checkpoint": checkpoint, "step": step, "prompts": len(prompts), "records": n,
        "accuracy": sum(r["score"] for r in records) / n,
        "mean_entropy": sum(r["mean_entropy"] for r in records) / n,
        "mean_response_length": sum(r["response_length"] for r in records) / n,
        # responses cut at max_new_tokens: a high share means the budget is too small (or no stop token)
        "truncated": sum(r["finish_reason"] == "length" for r in records) / n,
        "generate_seconds": round(generate_s, 2),
        "backend": eval_cfg.backend,
        # where the samples were generated (hf: the model's device; vllm: its engine's)
        "device": device,
    }

