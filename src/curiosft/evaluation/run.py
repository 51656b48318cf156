"""Evaluate checkpoints on benchmarks: prompts -> samples -> scores -> per-sample records (one file per benchmark)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from curiosft.benchmarks import get_benchmark
from curiosft.errors import ConfigError, MissingInputError
from curiosft.evaluation.generation import SamplingSettings, make_generator
from curiosft.evaluation.prompts import check_prompt_lengths, load_eval_prompts
from curiosft.evaluation.records import write_records
from curiosft.protocols import protocol_label
from curiosft.runid import parse_checkpoint
from curiosft.runs import model_step
from curiosft.scoring import ScoreItem, ScoringPool
from curiosft.vllm_env import gpu_available


def sampling_settings(eval_cfg, benchmark: str) -> SamplingSettings:
    return SamplingSettings(n=eval_cfg.samples_for(benchmark), temperature=eval_cfg.temperature,
                            top_p=eval_cfg.top_p, top_k=eval_cfg.top_k, max_new_tokens=eval_cfg.max_new_tokens,
                            seed=eval_cfg.seed)


def run_eval(cfg, out: str | Sequence[str], *, model_dir: str | Sequence[str], checkpoint: str | Sequence[str],
             benchmark: str | Sequence[str], data_file: str | Sequence[str], threads: int | None = None,
             curve: bool = False, max_model_len: int | None = None) -> dict | list[dict]:
    """The evaluation stage (curiosft.launcher's stage table): evaluate_checkpoints with the run's typed `eval`
    section (with curve=True its curve protocol: eval.curve's samples and prompt limit); threads default to
    the job's (curiosft.topology: processes x threads per process).

    `model_dir` and `checkpoint` are one checkpoint, or equal-length lists (the saved steps of one run,
    evaluated over training in one job); `benchmark`, `data_file` and `out` one benchmark, or equal-length
    lists (every benchmark of the checkpoint in one job: one start-up, one model load per checkpoint, one
    records file per benchmark). The summary is a dict for one checkpoint on one benchmark, else a list
    (checkpoint-major)."""
    from omegaconf import OmegaConf

    from curiosft.config.schema import EvalConfig, ScoringConfig
    from curiosft.topology import job_topology

    topo = job_topology(cfg.launcher)
    threads = threads or topo.threads_per_process * topo.nproc_per_node
    eval_cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(EvalConfig), cfg.eval))
    if curve:
        eval_cfg = eval_cfg.for_curve()
    scoring = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(ScoringConfig), cfg.scoring))
    single = isinstance(checkpoint, str) and isinstance(benchmark, str)
    summaries = evaluate_checkpoints(eval_cfg, checkpoints=evaluated_models(model_dir, checkpoint),
                                     benchmarks=evaluated_benchmarks(benchmark, data_file, out), threads=threads,
                                     max_model_len=max_model_len, scoring=scoring)
    return summaries[0] if single else summaries


def _as_list(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, (str, Path)) else [str(v) for v in value]


def evaluated_models(model_dir: str | Sequence[str], checkpoint: str | Sequence[str]) -> list[tuple[str, str]]:
    """[(checkpoint, model folder)] from one of each or two equal-length lists (ConfigError otherwise)."""
    models, names = _as_list(model_dir), _as_list(checkpoint)
    if len(models) != len(names) or not models:
        raise ConfigError(f"give one checkpoint name per model folder: {len(names)} checkpoints "
                          f"({', '.join(names)}) for {len(models)} model folders")
    return list(zip(names, models))


def evaluated_benchmarks(benchmark: str | Sequence[str], data_file: str | Sequence[str],
                         out: str | Sequence[str]) -> list[tuple[str, str, str]]:
    """[(benchmark, data file, records file)] from one of each or three equal-length lists, each benchmark
    once (ConfigError otherwise)."""
    names, files, outs = _as_list(benchmark), _as_list(data_file), _as_list(out)
    if not (len(names) == len(files) == len(outs)) or not names:
        raise ConfigError(f"give one data file and one records file per benchmark: {len(names)} benchmarks "
                          f"({', '.join(names)}), {len(files)} data files, {len(outs)} records files")
    if len(set(names)) != len(names) or len(set(outs)) != len(outs):
        raise ConfigError(f"each benchmark and records file once: benchmarks {', '.join(names)}; records files "
                          f"{', '.join(outs)}")
    return list(zip(names, files, outs))


def evaluate_checkpoints(eval_cfg, *, checkpoints: Sequence[tuple[str, str]],
                         benchmarks: Sequence[tuple[str, str, str]], threads: int | None = None,
                         max_model_len: int | None = None, scoring=None) -> list[dict]:
    """Evaluate each (checkpoint, model folder) on each (benchmark, data file, records file): every model
    folder checked before anything is generated, each benchmark's prompts read once, each model loaded once;
    each records file written once at the end (atomically) with every checkpoint's records. A summary per
    checkpoint and benchmark, checkpoint-major.

    `eval_cfg` is the `eval` section of the composed config (curiosft.config.schema.EvalConfig), `scoring`
    its `scoring` section (ScoringConfig; default: the default grader); every record names the grader.
    Errors: MissingInputError for a folder without a Hugging Face model or holding another step than its
    checkpoint names; ConfigError for prompts longer than max_model_len allows (before any generation)."""
    from curiosft.config.schema import ScoringConfig

    scoring = scoring or ScoringConfig()
    steps = [checkpoint_step(checkpoint, model_dir) for checkpoint, model_dir in checkpoints]
    specs = [get_benchmark(name) for name, _, _ in benchmarks]
    tasks = [(name, spec, out, load_eval_prompts(data_file, name, spec.kind, shuffle=eval_cfg.shuffle_choices,
                                                 shuffle_seed=eval_cfg.shuffle_seed, limit=eval_cfg.limit,
                                                 system_prompt=eval_cfg.system_prompt))
             for (name, data_file, out), spec in zip(benchmarks, specs)]
    if max_model_len is not None:  # every model's context, before the first generation
        for _, model_dir in checkpoints:
            check_lengths(model_dir, max_model_len, [(name, prompts) for name, _, _, prompts in tasks],
                          eval_cfg.max_new_tokens)
    records: dict[str, list[dict]] = {out: [] for _, _, out, _ in tasks}
    protocol = protocol_label(eval_cfg, scoring)
    summaries = []
    # the scoring workers start while the model loads and generates
    with ScoringPool(eval_cfg.scoring_workers, scoring.timeout_s, scoring.grader) as pool:
        for (checkpoint, model_dir), step in zip(checkpoints, steps):
            started = time.perf_counter()
            generator = make_generator(eval_cfg.backend, model_dir, eval_cfg, threads=threads,
                                       max_model_len=max_model_len)
            load_s = time.perf_counter() - started
            try:
                for name, spec, out, prompts in tasks:
                    mine, summary = benchmark_records(generator, pool, eval_cfg, name, spec, prompts,
                                                      checkpoint=checkpoint, step=step, protocol=protocol)
                    records[out] += mine
                    summaries.append({**summary, "load_seconds": round(load_s, 2)})
            finally:
                if hasattr(generator, "close"):
                    generator.close()
    for out, mine in records.items():
        write_records(out, mine)
    return summaries


def evaluate_checkpoint(eval_cfg, *, model_dir: str, benchmark: str, data_file: str, out: str, checkpoint: str,
                        threads: int | None = None, max_model_len: int | None = None, scoring=None) -> dict:
    """Write `out` (JSONL records) and return a summary {benchmark, checkpoint, records, accuracy, ...}:
    evaluate_checkpoints for one checkpoint on one benchmark."""
    return evaluate_checkpoints(eval_cfg, checkpoints=[(checkpoint, model_dir)],
                                benchmarks=[(benchmark, data_file, out)], threads=threads,
                                max_model_len=max_model_len, scoring=scoring)[0]


def checkpoint_step(checkpoint: str, model_dir: str) -> int | None:
    """The training step a checkpoint's records name (its own, else the one its model folder holds);
    MissingInputError without a Hugging Face model there, or when the folder holds another step."""
    _, step = parse_checkpoint(checkpoint)
    if not Path(model_dir, "config.json").is_file():
        raise MissingInputError(f"no Hugging Face model at {model_dir} (config.json missing); train or export it first")
    held = model_step(model_dir)
    if step is not None and held is not None and held != step:
        raise MissingInputError(f"checkpoint {checkpoint} names step {step}, but {model_dir} holds step {held}")
    return step if step is not None else held


def check_lengths(model_dir: str, max_model_len: int, prompt_sets, max_new_tokens: int) -> None:
    """ConfigError unless the model's context holds max_model_len and every prompt leaves room for
    max_new_tokens in it (curiosft.preflight, curiosft.evaluation.prompts)."""
    from transformers import AutoTokenizer

    from curiosft.preflight import check_context_length, check_model_path

    check_model_path(model_dir, "--model")
    check_context_length(model_dir, max_model_len, "data.max_prompt_length + eval.max_new_tokens")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    for name, prompts in prompt_sets:
        check_prompt_lengths(prompts, tokenizer, max_model_len - max_new_tokens, name)


def benchmark_records(generator, pool: ScoringPool, eval_cfg, benchmark: str, spec, prompts, *, checkpoint: str,
                      step: int | None, protocol: str) -> tuple[list[dict], dict]:
    """(records, summary) of one loaded model on one benchmark's prompts: samples, grades, answer classes."""
    run = parse_checkpoint(checkpoint)[0].as_dict()
    settings = sampling_settings(eval_cfg, benchmark)
    started = time.perf_counter()
    completions = generator.generate([p.messages for p in prompts], settings, [p.prompt_id for p in prompts])
    generate_s = time.perf_counter() - started
    device = getattr(generator, "device", "cuda" if eval_cfg.backend == "vllm" and gpu_available() else "cpu")
    pairs = [(p, i, c) for p, samples in zip(prompts, completions) for i, c in enumerate(samples)]
    grades = pool.score([ScoreItem(c.text, p.ground_truth, p.kind, p.choices) for p, _, c in pairs], progress=True)
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
            "grader": pool.grader.name, "grader_version": pool.grader.version, "protocol": protocol,
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
        # this benchmark's sampling (the model load is load_seconds, once per checkpoint)
        "generate_seconds": round(generate_s, 2),
        "backend": eval_cfg.backend,
        # where the samples were generated (hf: the model's device; vllm: its engine's)
        "device": device,
    }

