"""What produced an output: one JSON manifest written with every SFT, RL and evaluation output.

    results/sft/<run>/manifest.json, results/rl/<run>/manifest.json
    results/eval/<checkpoint>/<benchmark>.manifest.json (and the same beside curve records)

It holds the resolved config and the run's own overrides (what the sweep set), the versions of the packages
that compute the numbers, the git commit of the project and whether its tree had uncommitted changes, the
input files with their SHA-256 (data sets, benchmark files; a model folder by its config and weight sizes:
hashing a 15 GB folder per evaluation job would cost minutes), the hardware, and the cost: each attempt's
wall time and GPUs (the job's own clock), and on SLURM `sacct`'s elapsed time and allocated GPUs.
`curiosft report` lists them and warns when runs compared in one table differ in anything but the swept
keys (curiosft.report.provenance).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import socket
import subprocess
import time
from pathlib import Path

from curiosft.io import atomic_path

# the packages whose versions can move a number (their absence is recorded as null)
PACKAGES = ("curiosft", "torch", "transformers", "verl", "vllm", "flash-attn", "accelerate", "tokenizers",
            "numpy", "pyarrow", "math-verify", "latex2sympy2-extended", "sympy", "snakemake", "hydra-core",
            "submitit")
_HASH_CHUNK = 1 << 20


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(path: str | os.PathLike | None = None) -> dict | None:
    """{commit, dirty} of the git work tree holding `path` (default: this package's source), or None when
    it is not in one (an installed wheel) or git is missing."""
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=30)
        if commit.returncode != 0:
            return None
        status = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def describe_input(path: str | os.PathLike) -> dict:
    """A file: its size and SHA-256. A folder (a model): its config.json's SHA-256 and each file's size."""
    path = Path(path)
    if path.is_file():
        return {"path": str(path), "bytes": path.stat().st_size, "sha256": file_sha256(path)}
    if path.is_dir():
        config = path / "config.json"
        return {"path": str(path), "config_sha256": file_sha256(config) if config.is_file() else None,
                "files": {p.name: p.stat().st_size for p in sorted(path.iterdir()) if p.is_file()}}
    return {"path": str(path), "missing": True}


def visible_gpus() -> list[str]:
    """The names of the GPUs this process sees (CUDA_VISIBLE_DEVICES applies); [] without CUDA."""
    try:
        import torch
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def hardware() -> dict:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else None
    slurm = {k.removeprefix("SLURM_").lower(): os.environ[k] for k in
             ("SLURM_JOB_ID", "SLURM_JOB_NODELIST", "SLURM_JOB_PARTITION", "SLURM_JOB_NUM_NODES") if k in os.environ}
    return {"host": socket.gethostname(), "platform": platform.platform(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(), "cpus": cpus,
            "memory_gb": round(memory, 1) if memory else None, "gpus": visible_gpus(), "slurm": slurm or None}


def read_manifest(path: str | os.PathLike) -> dict | None:
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def _write(path: Path, manifest: dict) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")


def start_attempt(path: str | os.PathLike, *, stage: str, checkpoint: str, config: dict, overrides: list[str],
                  inputs: dict[str, str | os.PathLike], nodes: int = 1, benchmark: str | None = None,
                  curve: bool = False, fingerprint: dict | None = None, outputs: int = 1) -> dict:
    """Write the manifest as a job starts (a requeued or restarted job adds an attempt to the same file).
    `benchmark`, `curve`: an evaluation's benchmark and whether it is the curve protocol; `fingerprint`:
    what made the output (curiosft.fingerprint), with its digest; `outputs`: how many outputs the job
    wrote (an evaluation of several benchmarks: each manifest carries the whole job's cost, a 1/outputs
    share of it is this output's)."""
    path = Path(path)
    previous = read_manifest(path) or {}
    gpus = visible_gpus()
    attempt = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": socket.gethostname(),
               "gpus": len(gpus) * max(int(nodes), 1), "wall_s": None, "finished": False}
    manifest = {
        "stage": stage, "checkpoint": checkpoint, "benchmark": benchmark, "curve": curve, "outputs": int(outputs),
        "config": config, "overrides": list(overrides),
        "packages": package_versions(), "git": git_state(), "inputs": {k: describe_input(v) for k, v in inputs.items()},
        "hardware": hardware(),
        "fingerprint": fingerprint if fingerprint is None else {**fingerprint, "digest": _digest(fingerprint)},
        "cost": {"attempts": [*previous.get("cost", {}).get("attempts", []), attempt],
                 "sacct": previous.get("cost", {}).get("sacct")},
    }
    _write(path, manifest)
    return manifest


def _digest(fingerprint: dict) -> str:
    from curiosft.fingerprint import digest

    return digest(fingerprint)


def finish_attempt(path: str | os.PathLike, started: float, *, finished: bool = True,
                   disk_bytes: int | None = None) -> None:
    """Record the last attempt's wall time (seconds, from the job's monotonic clock), totals and the disk
    the output holds (bytes: the run folder, or the records file)."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest is None:
        return
    attempt = manifest["cost"]["attempts"][-1]
    attempt["wall_s"] = round(time.monotonic() - started, 3)
    attempt["finished"] = finished
    if disk_bytes is not None:
        manifest["disk_bytes"] = int(disk_bytes)
    _totals(manifest)
    _write(path, manifest)


def record_sacct(path: str | os.PathLike, sacct: dict) -> None:
    """Add SLURM's accounting of the job (curiosft.launcher.slurm.job_accounting) to the manifest."""
    manifest = read_manifest(path)
    if manifest is not None:
        manifest["cost"]["sacct"] = sacct
        _totals(manifest)
        _write(Path(path), manifest)


def _totals(manifest: dict) -> None:
    """wall_s and gpu_hours of the job: SLURM's accounting where there is one, else the attempts' own clocks."""
    cost = manifest["cost"]
    attempts = [a for a in cost["attempts"] if a.get("wall_s") is not None]
    cost["wall_s"] = round(sum(a["wall_s"] for a in attempts), 3)
    cost["gpu_hours"] = round(sum(a["wall_s"] * a["gpus"] for a in attempts) / 3600, 4)
    cost["source"] = "job"
    if cost.get("sacct"):
        cost["wall_s"], cost["gpu_hours"], cost["source"] = (cost["sacct"]["elapsed_s"], cost["sacct"]["gpu_hours"],
                                                             "sacct")
