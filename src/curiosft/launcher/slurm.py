"""Run a StageJob on SLURM with submitit: validate, submit (or re-attach), wait, cancel on interrupt.

- Before anything is queued, the request is checked against the cluster (`sinfo`): partition, nodes,
  CPUs, memory, GPUs and time limit; a mismatch fails naming the launcher key and what the cluster has.
- The submitted job's id is kept in <slurm_dir>/job.json; a restarted rule whose job is still pending or
  running re-attaches to it instead of submitting a duplicate.
- SIGINT/SIGTERM while waiting (Ctrl-C on snakemake, or snakemake stopping its jobs) cancels the job.
- A failed job fails the caller with its state, log paths and the end of its error log.
- Timeout/preemption: submitit's signal (USR2, launcher.signal_delay_s before the limit) stops the stage at
  a safe point (curiosft.preemption), then requeues the job, which resumes from the stage's latest complete
  checkpoint (StageJob.checkpoint); a time-out without a new checkpoint since the last one ends it
  (curiosft.launcher.requeue).
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import submitit

from curiosft import manifest
from curiosft.errors import ConfigError, StageFailed
from curiosft.io import write_json
from curiosft.launcher.requeue import UNCOUNTED_TIMEOUTS

# a job in these states is still the run's (a preempted job is requeued: PREEMPTED is one of them)
ACTIVE_STATES = {"PENDING", "CONFIGURING", "RUNNING", "REQUEUED", "RESIZING", "SUSPENDED", "COMPLETING",
                 "REQUEUE_HOLD", "REQUEUE_FED", "PREEMPTED"}


class SlurmJobFailed(StageFailed):
    pass


@dataclass(frozen=True)
class Partition:
    name: str
    default: bool
    time_limit_min: float  # inf: no limit
    cpus: int
    mem_mb: int
    gpus: int
    nodes: int


def _minutes(limit: str) -> float:
    """sinfo's time limit ([days-]hours:minutes:seconds, minutes:seconds, or infinite) in minutes."""
    if limit in ("infinite", "UNLIMITED", "n/a"):
        return float("inf")
    days, _, clock = limit.rpartition("-")
    parts = [int(x) for x in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    h, m, s = parts
    return (int(days or 0) * 24 + h) * 60 + m + s / 60


def _gpus(gres: str) -> int:
    return max((int(m.group(1)) for m in re.finditer(r"gpu(?::[\w-]+)?:(\d+)", gres)), default=0)


def cluster_partitions() -> dict[str, Partition]:
    """The cluster's partitions (largest node of each), from `sinfo`."""
    if shutil.which("sinfo") is None:
        raise ConfigError("launcher=slurm needs SLURM's commands (sinfo, sbatch) on PATH: run on the cluster's "
                          "login node, or use launcher=local")
    out = subprocess.run(["sinfo", "-h", "-o", "%P|%l|%c|%m|%G|%D"], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise ConfigError(f"sinfo failed ({out.stderr.strip()}); is the SLURM controller reachable?")
    partitions: dict[str, Partition] = {}
    for line in out.stdout.splitlines():
        name, limit, cpus, mem, gres, nodes = line.strip().split("|")
        default = name.endswith("*")
        name = name.rstrip("*")
        mem_mb = int(re.sub(r"\D", "", mem) or 0)
        new = Partition(name, default, _minutes(limit), int(re.sub(r"\D", "", cpus) or 0), mem_mb, _gpus(gres),
                        int(nodes))
        old = partitions.get(name)
        partitions[name] = new if old is None else Partition(
            name, old.default or default, max(old.time_limit_min, new.time_limit_min), max(old.cpus, new.cpus),
            max(old.mem_mb, new.mem_mb), max(old.gpus, new.gpus), old.nodes + new.nodes)
    return partitions


def validate_request(launcher, partitions: dict[str, Partition] | None = None) -> Partition:
    """Check the launcher's request against the cluster; returns the partition the job would run in."""
    partitions = cluster_partitions() if partitions is None else partitions
    if launcher.partition is None:
        defaults = [p for p in partitions.values() if p.default]
        if not defaults:
            raise ConfigError(f"this cluster has no default partition: set launcher.partition to one of "
                              f"{', '.join(partitions)}")
        part = defaults[0]
    elif launcher.partition not in partitions:
        raise ConfigError(f"unknown SLURM partition launcher.partition={launcher.partition!r}; this cluster has "
                          f"{', '.join(partitions) or 'none'} (see `sinfo`)")
    else:
        part = partitions[launcher.partition]
    problems = []
    if launcher.nodes > part.nodes:
        problems.append(f"launcher.nodes={launcher.nodes} but partition {part.name!r} has {part.nodes} node(s)")
    if launcher.cpus_per_task > part.cpus:
        problems.append(f"launcher.cpus_per_task={launcher.cpus_per_task} but its nodes have {part.cpus} CPUs")
    if launcher.mem_gb * 1024 > part.mem_mb:
        problems.append(f"launcher.mem_gb={launcher.mem_gb} but its nodes have {part.mem_mb / 1024:.1f} GB")
    if launcher.gpus_per_node > part.gpus:
        problems.append(f"launcher.gpus_per_node={launcher.gpus_per_node} but its nodes have {part.gpus} GPUs")
    if launcher.timeout_min > part.time_limit_min:
        problems.append(f"launcher.timeout_min={launcher.timeout_min} is over its time limit of "
                        f"{part.time_limit_min:g} min")
    if problems:
        raise ConfigError(f"the SLURM request cannot run in partition {part.name!r}: " + "; ".join(problems)
                          + ". Lower the request or choose another launcher.partition.")
    return part


def executor(launcher, folder: Path, name: str) -> submitit.SlurmExecutor:
    # requeued on every time-out that brought a new checkpoint (StageJob.checkpoint, curiosft.launcher.requeue)
    ex = submitit.SlurmExecutor(folder=folder, max_num_timeout=UNCOUNTED_TIMEOUTS)
    params = {
        "job_name": name, "partition": launcher.partition, "account": launcher.account, "qos": launcher.qos,
        "nodes": int(launcher.nodes), "ntasks_per_node": 1, "cpus_per_task": int(launcher.cpus_per_task),
        "gpus_per_node": int(launcher.gpus_per_node) or None, "mem": f"{int(launcher.mem_gb)}GB",
        "time": int(launcher.timeout_min), "constraint": launcher.constraint,
        "signal_delay_s": int(launcher.get("signal_delay_s", 300)),
        "additional_parameters": dict(launcher.additional_parameters or {}),
    }
    ex.update_parameters(**{k: v for k, v in params.items() if v is not None})
    return ex


def job_state(job_id: str) -> str | None:
    """squeue's state of a job, or None once it has left the queue."""
    out = subprocess.run(["squeue", "-h", "-j", str(job_id), "-o", "%T"], capture_output=True, text=True, timeout=60)
    state = out.stdout.strip().splitlines()
    return state[0] if out.returncode == 0 and state else None


def job_accounting(job_id: str) -> dict | None:
    """SLURM's accounting of a job, every attempt (a requeued job is one id with several): {job_id, attempts,
    elapsed_s, gpu_hours, states}, from `sacct --duplicates` (ElapsedRaw seconds x the gres/gpu of AllocTRES).
    None where sacct has no record (accounting off)."""
    try:
        out = subprocess.run(["sacct", "-j", str(job_id), "-X", "-n", "-P", "--duplicates",
                              "-o", "JobID,State,ElapsedRaw,AllocTRES"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    rows = [line.split("|") for line in out.stdout.splitlines() if line.strip()]
    rows = [r for r in rows if len(r) == 4 and r[0] == str(job_id) and r[2].isdigit()]
    if out.returncode != 0 or not rows:
        return None
    elapsed = [int(r[2]) for r in rows]
    gpus = [_tres_gpus(r[3]) for r in rows]
    return {"job_id": str(job_id), "attempts": len(rows), "states": [r[1] for r in rows],
            "elapsed_s": sum(elapsed), "gpus": max(gpus),
            "gpu_hours": round(sum(e * g for e, g in zip(elapsed, gpus)) / 3600, 4)}


def _tres_gpus(tres: str) -> int:
    """AllocTRES "billing=2,cpu=2,gres/gpu=1,mem=4G,node=1" -> 1 (0 without GPUs)."""
    for item in tres.split(","):
        key, _, value = item.partition("=")
        if key == "gres/gpu" and value.isdigit():
            return int(value)
    return 0


@contextmanager
def cancel_on_signal(job: submitit.Job):
    """SIGINT/SIGTERM while waiting: cancel the SLURM job, then exit (130/143) instead of orphaning it."""

    def handler(signum, frame):
        job.cancel(check=False)
        print(f"curiosft: cancelled SLURM job {job.job_id} ({signal.Signals(signum).name})", flush=True)
        raise SystemExit(128 + signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


class SlurmLauncher:
    def __init__(self, launcher_cfg):
        self.cfg = launcher_cfg

    def run(self, job):
        validate_request(self.cfg)
        folder = job.slurm_dir
        folder.mkdir(parents=True, exist_ok=True)
        record = folder / "job.json"
        slurm_job = self._attach(record, folder, job)
        if slurm_job is None:
            job.claim()
            folder.mkdir(parents=True, exist_ok=True)  # the claim may have moved a stale run aside
            slurm_job = executor(self.cfg, folder / "%j", job.name).submit(job)
            write_json(record, {"job_id": slurm_job.job_id, "name": job.name})
            print(f"curiosft: submitted SLURM job {slurm_job.job_id} ({job.name}); logs in {folder}", flush=True)
        with cancel_on_signal(slurm_job):
            try:
                result = slurm_job.result()
            except (submitit.core.utils.FailedJobError, submitit.core.utils.UncompletedJobError) as exc:
                raise SlurmJobFailed(
                    f"SLURM job {slurm_job.job_id} ({job.name}) ended {slurm_job.state}; logs: "
                    f"{slurm_job.paths.stdout} and {slurm_job.paths.stderr}\n{str(exc)[-3000:]}") from None
        record.unlink(missing_ok=True)
        # slurmdbd records the end a moment after the job's result is there
        for _ in range(10):
            accounting = job_accounting(slurm_job.job_id)
            if accounting is None or accounting["states"][-1] not in ACTIVE_STATES:
                break
            time.sleep(1)
        if accounting is not None:
            for path in job.manifest_paths:
                manifest.record_sacct(path, accounting)
        return result

    @staticmethod
    def _attach(record: Path, folder: Path, job) -> submitit.Job | None:
        if not record.is_file():
            return None
        job_id = json.loads(record.read_text())["job_id"]
        state = job_state(job_id)
        if state not in ACTIVE_STATES:
            return None
        job.check_claim()
        print(f"curiosft: re-attaching to SLURM job {job_id} ({state}) instead of submitting a new one", flush=True)
        return submitit.SlurmJob(folder=folder / "%j", job_id=job_id)
