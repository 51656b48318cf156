"""Per-step training metrics (metrics.jsonl of the SFT and RL runs) as one long DataFrame."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from curiosft.errors import ConfigError
from curiosft.evaluation.records import RecordsError
from curiosft.runid import RunId


def read_training_metrics(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Columns: checkpoint, stage, method, schedule, seed, step, and one column per logged metric.

    The run of each line comes from the line itself (`run`, written by curiosft.runs.merge_metrics), not
    from the file's path: results may lie under any folder (e.g. /scratch/rl/results).
    """
    rows = []
    for path in map(Path, paths):
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            raise RecordsError(f"training metrics {path} cannot be read ({exc}); re-run its training job") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                run = RunId(**entry["run"])
                rows.append({"checkpoint": run.checkpoint, **run.as_dict(), "step": int(entry["step"]),
                             **entry["data"]})
            except KeyError as exc:
                raise RecordsError(f"training metrics {path}, line {number}, has no {exc} field (written before "
                                   "metrics lines carried their run); re-run its training job, which re-merges "
                                   "its attempts without training again") from None
            except (json.JSONDecodeError, TypeError, ConfigError) as exc:
                raise RecordsError(f"training metrics {path}, line {number}, is corrupt ({exc}); "
                                   f"re-run its training job") from None
    return pd.DataFrame(rows)
