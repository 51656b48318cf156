"""Dry-run benchmark: what the paper sweep's `snakemake -n` costs, against Snakemake itself.

    python benchmarks/dry_run.py              # 3 repeats each, median
    python benchmarks/dry_run.py --repeats 5

Times, in this run and on this machine, (a) `snakemake --profile profiles/slurm -n all --config
experiment=paper` in a fresh working directory (nothing run yet: the planning a researcher waits for before
submitting the sweep) and (b) a plain Snakefile of as many trivial jobs (one rule, one output each, no
config, no input functions), also dry-run. The ratio a / b is what the workflow's own planning (validating
and composing the Hydra config of every run, the sweep's input functions) adds to Snakemake's; the target
is (a) under 3 s of wall time on an idle 2-core machine (issue 29).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def timed_dry_run(args: list[str], workdir: Path) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run([*SNAKEMAKE, *args, "-n", "--directory", str(workdir)], capture_output=True, text=True,
                          cwd=REPO)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def job_count(dry_run_output: str) -> int:
    """The `total` of the job stats table a dry run prints."""
    return int(re.search(r"^total\s+(\d+)", dry_run_output, re.MULTILINE).group(1))


def trivial_snakefile(jobs: int, folder: Path) -> Path:
    """A Snakefile whose `all` asks for jobs - 1 outputs of one trivial rule (jobs in total with `all`)."""
    path = folder / "Snakefile"
    path.write_text(
        f"rule all:\n    input: expand('out/{{i}}.txt', i=range({jobs - 1}))\n\n"
        "rule one:\n    output: 'out/{i}.txt'\n    shell: 'echo {wildcards.i} > {output}'\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    paper_args = ["--snakefile", str(REPO / "Snakefile"), "--profile", str(REPO / "profiles" / "slurm"), "all",
                  "--config", "experiment=paper"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # a first run fills the composed-config cache (.snakemake/curiosft), as any earlier dry run would
        _, output = timed_dry_run(paper_args, tmp / "paper")
        jobs = job_count(output)
        trivial = trivial_snakefile(jobs, tmp)
        paper_s, trivial_s = [], []
        for _ in range(args.repeats):  # interleaved: a busy moment hits both
            paper_s.append(timed_dry_run(paper_args, tmp / "paper")[0])
            trivial_s.append(timed_dry_run(["--snakefile", str(trivial), "--cores", "1"], tmp / "trivial")[0])
        uncached = [timed_dry_run(paper_args, tmp / f"fresh{i}")[0] for i in range(args.repeats)]
    paper, plain, fresh = statistics.median(paper_s), statistics.median(trivial_s), statistics.median(uncached)
    print(f"paper sweep dry run ({jobs} jobs before its checkpoints add the curve and selected-step jobs), "
          f"median of {args.repeats}:")
    from curiosft.report.markdown import markdown_table

    print("\n".join(markdown_table(["what", "wall", "x plain Snakemake"], [
        [f"plain Snakefile, {jobs} trivial jobs (the baseline)", f"{plain:.2f} s", "1.00"],
        ["paper sweep, config cache warm (any second dry run)", f"{paper:.2f} s", f"**{paper / plain:.2f}**"],
        ["paper sweep, new working directory (composes every run's config)", f"{fresh:.2f} s",
         f"{fresh / plain:.2f}"]])))
    print(f"target: paper sweep under 3 s: {'met' if max(paper, fresh) < 3 else 'NOT met'}")


if __name__ == "__main__":
    main()
