"""Evaluation: benchmark prompts -> sampled responses (vllm or hf) -> scores -> per-sample JSONL records.

Tables and figures (curiosft.report) are computed from the records alone. Submodules: benchmarks,
prompts, generation, records, metrics, run (nothing heavy is imported with the package itself: the
workflow reads the benchmark registry at start-up).
"""
