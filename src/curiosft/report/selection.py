"""`eval.select=best:<benchmark or split>`: each run's best saved step on its curve evaluation (PSFT's
"best in-domain checkpoint": docs/evaluation.md "Best checkpoint").

The value of a step is its avg@n on the benchmark, or the mean avg@n over the split's benchmarks (id, ood);
the best is the highest value, the earliest step among equals. The selection sees only the curve records,
so the selected step's full evaluation is the number the tables report; when that benchmark is also
reported, its column is flagged as selected on (curiosft.report.tables).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from curiosft.config.schema.eval import SPLITS
from curiosft.errors import InputDataError
from curiosft.evaluation.metrics import per_benchmark
from curiosft.evaluation.records import read_records
from curiosft.io import atomic_path


def step_values(bench: pd.DataFrame, by: str) -> pd.Series:
    """step -> value of `by` (a benchmark or split) for one run's per-benchmark curve metrics."""
    rows = bench[bench["split"] == by] if by in SPLITS else bench[bench["benchmark"] == by]
    if rows.empty:
        raise InputDataError(f"select by {by!r}: the curve records hold no {'split' if by in SPLITS else 'benchmark'} "
                             f"{by!r} (they hold {', '.join(sorted(set(bench['benchmark'])))})")
    if rows["step"].isna().any():
        raise InputDataError("select: curve records without a step (written by an older curiosft); re-run them")
    return rows.groupby("step")["avg"].mean().sort_index()


def select_best(records: Iterable[str | os.PathLike], by: str) -> dict:
    """{checkpoint, by, step, last_step, values: {step: value}} for the records of one run's steps."""
    bench = per_benchmark(read_records(records))
    runs = sorted({c.rsplit("/step~", 1)[0] for c in bench["checkpoint"]})
    if len(runs) != 1:
        raise InputDataError(f"select: the records hold {len(runs)} runs ({', '.join(runs)}); give one run's records")
    values = step_values(bench, by)
    best = values[values == values.max()].index.min()
    return {"checkpoint": runs[0], "by": by, "step": int(best), "last_step": int(values.index.max()),
            "values": {str(int(s)): round(float(v), 4) for s, v in values.items()}}


def write_selection(records: Iterable[str | os.PathLike], by: str, out: str | os.PathLike) -> dict:
    choice = select_best(records, by)
    with atomic_path(out) as tmp:
        Path(tmp).write_text(json.dumps(choice, indent=2) + "\n")
    return choice
