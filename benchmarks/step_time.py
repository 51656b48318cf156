"""verl SFT step time on the tiny model: PSFT and CurioSFT relative to plain SFT, measured in one run.

    python benchmarks/step_time.py                      # needs the tiny world: run `make demo` first
    python benchmarks/step_time.py --results results --steps 20

Each method trains `--steps` steps of the tiny experiment through verl's trainer (torchrun, 1 process,
2 threads), `--repeats` times with the methods interleaved (this machine's speed drifts by tens of
percent over minutes); the step time is the median of `perf/step_seconds` after `--warmup` steps of
every repeat. Targets (issue 3):
psft/sft <= 1.6 and curiosft/sft <= 1.6 (a teacher forward is ~1/3 of a step: ~1.33x is CurioSFT's floor).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

METHODS = {"sft": "none", "psft": "none", "curiosft": "entropy_guided"}


def step_seconds(results: Path, method: str, steps: int, warmup: int, workdir: Path) -> list[float]:
    run_dir = workdir / method
    cmd = [sys.executable, "-m", "curiosft.cli", "sft", "--out", str(run_dir), "experiment=tiny",
           f"paths.results={results}", f"method={method}", f"schedule={METHODS[method]}",
           f"trainer.max_steps={steps}", f"trainer.save_freq={steps}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{method} run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r["data"]["perf/step_seconds"] for r in records[warmup:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default="results", help="results folder holding world/ (from make demo)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    results = Path(args.results).resolve()
    if not (results / "world" / "model").is_dir():
        raise SystemExit(f"no tiny world under {results}; run `make demo` (or the world rules) first")
    samples: dict[str, list[float]] = {m: [] for m in METHODS}
    for _ in range(args.repeats):
        for method in METHODS:
            with tempfile.TemporaryDirectory() as tmp:
                samples[method] += step_seconds(results, method, args.steps, args.warmup, Path(tmp))
    times = {m: statistics.median(v) for m, v in samples.items()}
    print(f"verl SFT step time, tiny experiment (global batch 32), {args.repeats} x {args.steps} steps per method "
          f"(interleaved), first {args.warmup} of each excluded, median")
    print(f"{'method':10s} {'s/step':>8s} {'x sft':>6s}")
    for method, seconds in times.items():
        print(f"{method:10s} {seconds:8.3f} {seconds / times['sft']:6.2f}")


if __name__ == "__main__":
    main()
