"""Per-step training metrics (metrics.jsonl of the SFT and RL runs) as one long DataFrame."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from curiosft.evaluation.records import RecordsError, parse_checkpoint


def checkpoint_of(path: Path) -> str:
    """results/sft/method~M/schedule~S/seed~N/metrics.jsonl -> sft/method~M/schedule~S/seed~N."""
    parts = path.parent.parts
    for stage in ("rl", "sft"):
        if stage in parts:
            i = len(parts) - 1 - parts[::-1].index(stage)
            return "/".join(parts[i:])
    raise RecordsError(f"{path}: not under a results/sft/... or results/rl/... run folder")


def read_training_metrics(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Columns: checkpoint, stage, method, schedule, seed, step, and one column per logged metric."""
    rows = []
    for path in map(Path, paths):
        checkpoint = checkpoint_of(path)
        run = parse_checkpoint(checkpoint)
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            raise RecordsError(f"training metrics {path} cannot be read ({exc}); re-run its training job") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                rows.append({"checkpoint": checkpoint, **run, "step": int(entry["step"]), **entry["data"]})
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise RecordsError(f"training metrics {path}, line {number}, is corrupt ({exc}); "
                                   f"re-run its training job") from None
    return pd.DataFrame(rows)
