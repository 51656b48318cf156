"""Evaluation: benchmark prompts -> sampled responses (vllm or hf) -> scores -> per-sample JSONL records.

Tables and figures (curiosft.report) are computed from the records alone.
"""

from curiosft.evaluation.benchmarks import BENCHMARKS, Benchmark, get_benchmark
from curiosft.evaluation.records import FIELDS, RecordsError, parse_checkpoint, read_records, write_records

__all__ = ["BENCHMARKS", "FIELDS", "Benchmark", "RecordsError", "get_benchmark", "parse_checkpoint", "read_records",
           "write_records"]
