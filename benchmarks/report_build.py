"""Report benchmark: every table and figure from 200,000 per-sample records (target: under 10 s).

    python benchmarks/report_build.py                # 22 checkpoints x 9 benchmarks x 126 prompts x 8 samples
    python benchmarks/report_build.py --prompts 20   # quicker

Writes synthetic records in the real on-disk layout (curiosft.evaluation.synthetic: a 7-run x 3-seed
sweep plus the base model, the paper's 9 benchmarks, 200-character responses), then times, in this
run: reading the records alone (the baseline), and `curiosft report` end to end (read + metrics +
4 tables in 3 formats + figures as PNG and PDF).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from curiosft.evaluation.records import read_records
from curiosft.evaluation.synthetic import write_synthetic_results
from curiosft.report.build import build_report

RUNS = (("sft", "none"), ("psft", "none"), ("curiosft", "entropy_guided"), ("curiosft", "fixed"),
        ("curiosft", "annealed"), ("entropy_reg", "none"), ("dft", "none"))
BENCHMARKS = ("aime24", "aime25", "amc23", "math500", "minerva_math", "olympiadbench", "gpqa_diamond",
              "arc_challenge", "mmlu_pro")


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=126, help="prompts per benchmark")
    parser.add_argument("--samples", type=int, default=8, help="samples per prompt")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        records, metrics = write_synthetic_results(Path(tmp) / "results", runs=RUNS, seeds=(1, 2, 3),
                                                   benchmarks=BENCHMARKS, prompts=args.prompts, n=args.samples,
                                                   response_chars=200)
        n = len(read_records(records))
        print(f"{n:,} records in {len(records)} files ({time.perf_counter() - started:.1f} s to write)")
        read_s = timed(lambda: read_records(records), args.repeats)
        report_s = timed(lambda: build_report(records=records, training_metrics=metrics, out=Path(tmp) / "paper"),
                         args.repeats)
    print(f"read records only:          {read_s:6.2f} s")
    print(f"all tables and figures:     {report_s:6.2f} s  ({report_s / read_s:.1f}x reading)   target < 10 s: "
          f"{'met' if report_s < 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
