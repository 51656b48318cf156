"""A run is its config and its inputs: the fingerprint of what made an SFT, RL or evaluation output, and the
rule that a run folder made under another fingerprint is never resumed or re-exported.

    fingerprint = {stage, config: the resolved sections the stage reads (curiosft.stages),
                   inputs: {name: content digest}, grader: {name, version} (rl, eval)}

SFT and RL runs keep it in <run>/fingerprint.json; evaluation records in their manifest. When a job finds
its run folder holding work (checkpoints, metrics, a model) made under another fingerprint, `claim_run_dir`
moves the folder aside, to <run>.stale-<time> beside it (kept whole, named on stderr), and the job trains
afresh; with `stale_run=error` it stops instead with one line naming the keys that differ. A folder from
before fingerprints were recorded counts as made under another one. The same fingerprint resumes exactly as
before (the resume tests hold it bit-equal). docs/reliability.md ("Stale runs").
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from curiosft.errors import ConfigError
from curiosft.io import write_json
from curiosft.stages import STALE_RUN_CHOICES, get_stage, stage_config

FINGERPRINT = "fingerprint.json"
# what in a run folder is work a job would resume or re-export (config files alone are not)
_WORK = ("checkpoints", "model", "progress.json")
_CHUNK = 1 << 20


def _hash_cache_dir() -> Path:
    from curiosft.assets import default_cache_dir

    return default_cache_dir() / "sha256"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, cached by (path, inode, size, mtime) in the user cache: a 15 GB model is read once
    per version, not once per job."""
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_ino}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    cached = _hash_cache_dir() / key
    try:
        return cached.read_text().strip()
    except OSError:
        pass
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    value = digest.hexdigest()
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{key}.{os.getpid()}.tmp")
        tmp.write_text(value + "\n")
        os.replace(tmp, cached)
    except OSError:
        pass  # a read-only home: no cache, the same digest
    return value


def content_digest(path: str | os.PathLike) -> str:
    """`sha256:<hex>` of a file, or of a folder (every file below it: relative path and content, in order);
    `id:<path>` for what is not on disk (a hub model id: model.revision, in the config, pins its content)."""
    path = Path(path)
    if path.is_file():
        return "sha256:" + file_sha256(path)
    if path.is_dir():
        digest = hashlib.sha256()
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(f"{file.relative_to(path).as_posix()}\0{file_sha256(file)}\n".encode())
        return "sha256:" + digest.hexdigest()
    return f"id:{path}"


def grader_identity(name: str) -> dict[str, str]:
    from curiosft.scoring.graders import get_grader

    grader = get_grader(name)
    return {"name": grader.name, "version": str(grader.version)}


def stage_fingerprint(stage: str, cfg: Mapping[str, Any], inputs: Mapping[str, str | os.PathLike]) -> dict:
    """The fingerprint of a stage's output. `cfg`: the resolved config (plain containers); `inputs`: name ->
    file, folder or hub id (StageJob's inputs). Reading a model folder's weights takes ~1 s per GB once."""
    fingerprint = {"stage": stage, "config": stage_config(stage, cfg),
                   "inputs": {name: content_digest(path) for name, path in sorted(inputs.items())}}
    if get_stage(stage).graded:
        fingerprint["grader"] = grader_identity(cfg["scoring"]["grader"])
    return fingerprint


def digest(fingerprint: Mapping) -> str:
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode()).hexdigest()


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, Mapping):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: tree}


def differences(old: Mapping, new: Mapping) -> list[str]:
    """`key: old -> new` for every dotted key whose value differs (config sections, inputs, grader)."""
    a, b = _flatten({k: v for k, v in old.items() if k != "stage"}), _flatten({k: v for k, v in new.items()
                                                                               if k != "stage"})
    missing = object()
    lines = []
    for key in sorted(set(a) | set(b)):
        before, after = a.get(key, missing), b.get(key, missing)
        if before != after:
            show = lambda v: "(absent)" if v is missing else json.dumps(v, default=str)[:80]  # noqa: E731
            lines.append(f"{key.removeprefix('config.')}: {show(before)} -> {show(after)}")
    return lines


def read_fingerprint(run_dir: str | os.PathLike) -> dict | None:
    path = Path(run_dir) / FINGERPRINT
    return json.loads(path.read_text()) if path.is_file() else None


def holds_work(run_dir: str | os.PathLike) -> bool:
    """Whether a run folder holds work a job would resume or re-export (checkpoints, metrics, a model)."""
    run_dir = Path(run_dir)
    return any((run_dir / name).exists() for name in _WORK) or any(run_dir.glob("metrics.attempt-*.jsonl"))


def stale_reason(run_dir: str | os.PathLike, fingerprint: Mapping) -> str | None:
    """Why the work in `run_dir` was not made under `fingerprint` (the keys that differ), or None when it
    was, or when the folder holds no work."""
    if not holds_work(run_dir):
        return None
    old = read_fingerprint(run_dir)
    if old is None:
        return f"it has no {FINGERPRINT} (made before curiosft recorded one)"
    changed = differences(old, fingerprint)
    return "; ".join(changed) if changed else None


def claim_run_dir(run_dir: str | os.PathLike, fingerprint: Mapping, *, on_stale: str = "move_aside",
                  log=None) -> Path | None:
    """Make `run_dir` the folder of a run with this fingerprint, before its job starts: unchanged work stays
    (the job resumes it); work made under another fingerprint is moved aside (on_stale=move_aside; returns
    where to) or refused (on_stale=error: ConfigError naming the keys that differ). Writes fingerprint.json."""
    if on_stale not in STALE_RUN_CHOICES:
        raise ConfigError(f"unknown stale_run {on_stale!r}; choose one of {', '.join(STALE_RUN_CHOICES)}")
    run_dir = Path(run_dir)
    moved = None
    if (reason := stale_reason(run_dir, fingerprint)) is not None:
        if on_stale == "error":
            raise ConfigError(f"{run_dir} was made under another config or input ({reason}); delete or move it, "
                              "or set stale_run=move_aside to keep it aside and train afresh")
        moved = run_dir.with_name(f"{run_dir.name}.stale-{time.strftime('%Y%m%dT%H%M%S')}")
        while moved.exists():
            moved = moved.with_name(moved.name + "x")
        shutil.move(str(run_dir), str(moved))
        (log or _stderr)(f"curiosft: {run_dir} was made under another config or input ({reason}); moved it to "
                         f"{moved} and starting afresh")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / FINGERPRINT, dict(fingerprint))
    return moved


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
