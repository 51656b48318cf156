"""Where a finished workflow run spent its time, per rule, from Snakemake's own records.

    python benchmarks/demo_time.py                 # the run in this directory (after `make demo`)
    python benchmarks/demo_time.py -d /work/run    # another working directory
    python benchmarks/demo_time.py --jobs          # and every job, longest first

Snakemake keeps a record per output file in <workdir>/.snakemake/metadata/ (its rerun triggers): the rule,
the job's start and end time (Unix seconds) and the job hash (a record is kept until the output is deleted:
run in a fresh working directory, or the table mixes runs). Outputs of one job share the hash and end time,
so each job is counted once. Printed: per rule the jobs, their summed wall time, mean and longest job, and
the share of all job time; then the run's span (first start to last end) and how many jobs ran side by side
on average (summed job time / span: 2.0 is two cores kept busy all the way). A regression shows as a rule
whose summed time grew; compare runs on the same machine (docs/performance.md "The demo").
"""

from __future__ import annotations

import argparse
import base64
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class JobTime:
    rule: str
    output: str  # the first output file (by name) of the job
    start: float  # Unix seconds
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def output_name(record: Path) -> str:
    """The output file a record is about. Snakemake names a record by the URL-safe base64 of the output path,
    cut into folders of PC_NAME_MAX - 1 characters, each folder's name prefixed with "@"
    (snakemake.persistence.file: _record_path)."""
    return base64.urlsafe_b64decode("".join(part.removeprefix("@") for part in record.parts)).decode()


def job_times(workdir: str | Path = ".") -> list[JobTime]:
    """One JobTime per finished job recorded under <workdir>/.snakemake/metadata (FileNotFoundError if there
    is no such folder: not a directory Snakemake ran in)."""
    folder = Path(workdir) / ".snakemake" / "metadata"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no Snakemake records; run the workflow there first (make demo)")
    jobs: dict[tuple, JobTime] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        record = json.loads(path.read_text())
        if record.get("incomplete") or record.get("starttime") is None or record.get("endtime") is None:
            continue
        output = output_name(path.relative_to(folder))
        # a job's outputs share its hash and end time; their start times differ by microseconds
        key = (record.get("job_hash"), record["endtime"])
        job = JobTime(record["rule"], output, float(record["starttime"]), float(record["endtime"]))
        if key in jobs:
            first = jobs[key]
            job = JobTime(job.rule, min(job.output, first.output), min(job.start, first.start), job.end)
        jobs[key] = job
    return sorted(jobs.values(), key=lambda j: j.start)


def rule_table(jobs: list[JobTime]) -> list[dict]:
    """Per rule: jobs, summed / mean / longest wall seconds and share of all job time, largest sum first."""
    by_rule: dict[str, list[float]] = defaultdict(list)
    for job in jobs:
        by_rule[job.rule].append(job.seconds)
    total = sum(sum(times) for times in by_rule.values()) or 1.0
    rows = [{"rule": rule, "jobs": len(times), "sum_s": sum(times), "mean_s": sum(times) / len(times),
             "max_s": max(times), "share": sum(times) / total} for rule, times in by_rule.items()]
    return sorted(rows, key=lambda row: -row["sum_s"])


def span_seconds(jobs: list[JobTime]) -> float:
    """First job start to last job end."""
    return max(j.end for j in jobs) - min(j.start for j in jobs) if jobs else 0.0


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def format_report(jobs: list[JobTime], show_jobs: bool = False) -> str:
    rows = rule_table(jobs)
    from curiosft.report.markdown import markdown_table

    lines = markdown_table(["rule", "jobs", "job time (sum)", "mean", "longest", "share"],
                           [[r["rule"], r["jobs"], _minutes(r["sum_s"]), f"{r['mean_s']:.1f} s", f"{r['max_s']:.1f} s",
                             f"{r['share']:.0%}"] for r in rows])
    summed, span = sum(r["sum_s"] for r in rows), span_seconds(jobs)
    lines += ["", f"{len(jobs)} jobs, {_minutes(summed)} of job time in a span of {_minutes(span)} "
                  f"(first start to last end): {summed / span if span else 0:.2f} jobs side by side on average"]
    if show_jobs:
        lines += ["", *markdown_table(["job (first output)", "rule", "wall"], [
            [j.output, j.rule, f"{j.seconds:.1f} s"] for j in sorted(jobs, key=lambda j: -j.seconds)])]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-d", "--directory", default=".", help="the workflow's working directory")
    parser.add_argument("--jobs", action="store_true", help="also list every job, longest first")
    args = parser.parse_args()
    try:
        jobs = job_times(args.directory)
    except FileNotFoundError as exc:
        raise SystemExit(f"demo_time: {exc}") from None
    print(format_report(jobs, show_jobs=args.jobs))


if __name__ == "__main__":
    main()
