"""`curiosft regrade`: score existing per-sample records with another grader, and count what changes.

An audit of what the grader does to the tables: for each benchmark and run (stage, method), how many
verdicts flip (0 -> 1, 1 -> 0) and the accuracy (avg@k, the mean score) before and after. The record files
given are only read; with `out`, regraded copies are written in the records layout
(out/<checkpoint>/<benchmark>.jsonl, atomically) with the new score, extracted answer, reason and grader.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from curiosft.errors import ConfigError
from curiosft.evaluation.records import FIELDS, RecordsError, read_records, write_records
from curiosft.scoring import ScoreItem, ScoringPool

GROUP = ["benchmark", "stage", "method"]


def _items(records, paths: Sequence[Path]) -> list[ScoreItem]:
    unlisted = records[(records["kind"] == "multiple_choice") & records["choices"].isna()]
    if len(unlisted):
        files = ", ".join(sorted({str(p) for p in paths}))
        raise RecordsError(f"{len(unlisted)} multiple-choice records (benchmark {unlisted['benchmark'].iloc[0]}) "
                           f"have no `choices` (written before records kept the options); re-run their "
                           f"evaluation to regrade them ({files})")
    return [ScoreItem(r.response, r.ground_truth, r.kind, tuple(r.choices) if r.choices is not None else ())
            for r in records.itertuples()]


def regrade(paths: Sequence[str | os.PathLike], grader: str, *, workers: int = 2, timeout_s: float = 10.0,
            out: str | os.PathLike | None = None, progress: bool = True):
    """(per-group summary DataFrame, regraded records DataFrame). Raises RecordsError for unreadable records,
    UnknownNameError for an unknown grader, ConfigError when `out` would overwrite an input file."""
    import pandas as pd

    paths = [Path(p) for p in paths]
    records = read_records(paths, columns=FIELDS)
    items = _items(records, paths)
    with ScoringPool(workers, timeout_s, grader) as pool:
        grades = pool.score(items, "eval", progress=progress)
        # maj@n's classes by the new grader, per checkpoint and prompt, samples in order
        order = records.sort_values(["checkpoint", "benchmark", "prompt_id", "sample"], kind="stable").index
        keys = records.loc[order, ["checkpoint", "benchmark", "prompt_id"]].astype(str).agg("|".join, axis=1)
        labels = pool.sample_classes(list(records.loc[order, "kind"]), list(keys), [grades[i] for i in order])
        tag = pool.grader
    before = records.copy()
    records["score"] = [g.score for g in grades]
    records["extracted"] = [g.extracted for g in grades]
    records["reason"] = [g.reason for g in grades]
    records["answer_class"] = pd.Series(pd.array(labels, dtype="Int64"), index=order).reindex(records.index)
    records["grader"], records["grader_version"] = tag.name, tag.version
    if out is not None:
        _write_copies(records, Path(out), paths)
    return summarize(before, records), records


def summarize(before, after):
    """Per benchmark, stage and method: records, flips each way, accuracy before and after."""
    import pandas as pd

    frame = pd.DataFrame({
        **{k: after[k] for k in GROUP},
        "was": before["grader"].fillna("release").astype(str) + "-" + before["grader_version"].fillna("1").astype(str),
        "before": before["score"], "after": after["score"],
    })
    frame["gained"] = (frame["before"] < 1) & (frame["after"] == 1)
    frame["lost"] = (frame["before"] == 1) & (frame["after"] < 1)
    frame["changed"] = frame["before"] != frame["after"]
    return frame.groupby(GROUP, sort=True).agg(
        graded_by=("was", lambda s: ",".join(sorted(set(s)))), records=("after", "size"),
        changed=("changed", "sum"), gained=("gained", "sum"), lost=("lost", "sum"),
        accuracy_before=("before", "mean"), accuracy_after=("after", "mean")).reset_index()


def _write_copies(records, out: Path, inputs: Sequence[Path]) -> None:
    sources = {p.resolve() for p in inputs}
    for (checkpoint, benchmark), group in records.groupby(["checkpoint", "benchmark"], sort=False):
        target = out / checkpoint / f"{benchmark}.jsonl"
        if target.resolve() in sources:
            raise ConfigError(f"--out {out} would overwrite the input {target}; choose another folder")
        rows = group[list(FIELDS)].to_dict("records")
        write_records(target, [_json_row(row) for row in rows])


def _json_row(row: dict) -> dict:
    """A DataFrame row back to record types: NaN -> null, arrays -> lists, top_k an int."""
    import pandas as pd

    for key, value in row.items():
        if value is None or value is pd.NA or isinstance(value, float) and value != value:
            row[key] = None
        elif hasattr(value, "tolist"):
            row[key] = value.tolist()
    for key in ("top_k", "step", "answer_class"):
        if row[key] is not None:
            row[key] = int(row[key])
    return row


def format_summary(summary, grader: str) -> str:
    """The audit table as text: one line per benchmark x stage x method, then the total."""
    lines = [f"regraded with {grader}: {int(summary['records'].sum())} records, "
             f"{int(summary['changed'].sum())} verdicts changed "
             f"({int(summary['gained'].sum())} 0->1, {int(summary['lost'].sum())} 1->0)", ""]
    header = f"{'benchmark':16s} {'stage':5s} {'method':14s} {'graded by':12s} {'records':>7s} {'changed':>7s} " \
             f"{'0->1':>5s} {'1->0':>5s} {'avg@k before':>12s} {'after':>7s}"
    lines.append(header)
    for row in summary.itertuples():
        lines.append(f"{row.benchmark:16s} {row.stage:5s} {row.method:14s} {row.graded_by:12s} {row.records:7d} "
                     f"{row.changed:7d} {row.gained:5d} {row.lost:5d} {row.accuracy_before:12.4f} "
                     f"{row.accuracy_after:7.4f}")
    return "\n".join(lines)
