"""Paper tables from benchmark metrics: one Table, rendered as CSV, Markdown and LaTeX (booktabs).

Cells are mean +- std over seeds; the best mean per column is bold (the base model does not compete);
"Δ SFT" is the row's average minus the SFT row's, starred where the paired test against SFT gives p < 0.05
(curiosft.report.significance); "Step" names the training step of the numbers (per seed, when a best
checkpoint was selected); a column the checkpoints were selected on carries a dagger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from curiosft.benchmarks import benchmark_order, get_benchmark
from curiosft.evaluation.metrics import RUN_KEYS as RUN_INDEX
from curiosft.evaluation.metrics import over_seeds, split_averages
from curiosft.io import atomic_path
from curiosft.report.labels import PRE_RL, REFERENCE_METHOD, run_label, run_sort_key
from curiosft.report.markdown import markdown_table

DELTA = "Δ SFT"
# split -> its average column in curiosft.evaluation.metrics.split_averages
SPLIT_AVERAGES = {"id": "ID avg", "ood": "OOD avg"}


@dataclass
class Table:
    name: str
    title: str
    # rows: one per (method, schedule); columns: mean and std per column name; seeds per row
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    columns: list[str] = field(default_factory=list)
    # column whose difference to the SFT row is shown (None: no delta column)
    delta_of: str | None = None
    empty_note: str = "no results yet"
    # columns that are differences (printed with a sign)
    signed: tuple[str, ...] = ()
    # (method, schedule) -> the steps its numbers come from; (method, schedule) whose delta has p < 0.05
    steps: dict = field(default_factory=dict)
    significant: set = field(default_factory=set)
    # columns the checkpoints were selected on (eval.select=best:...), and the note saying so
    selected_on: tuple[str, ...] = ()
    selection_note: str = ""
    # the evaluation protocol(s) its numbers come from (curiosft.protocols)
    protocol_note: str = ""

    @property
    def empty(self) -> bool:
        return self.rows.empty


def metric_table(name: str, title: str, frame: pd.DataFrame, columns: dict[str, str], *,
                 delta_of: str | None, empty_note: str = "no results yet", signed: tuple[str, ...] = ()) -> Table:
    """`frame`: one row per checkpoint (stage, method, schedule, seed) with the value columns named in
    `columns` (source column -> table column); aggregated over seeds here."""
    if frame.empty:
        return Table(name, title, columns=list(columns.values()), delta_of=delta_of, empty_note=empty_note,
                     signed=signed)
    stats = over_seeds(frame.rename(columns=columns), list(columns.values()))
    stats["label"] = [run_label(m, s) for m, s in zip(stats["method"], stats["schedule"])]
    stats = stats.iloc[sorted(range(len(stats)), key=lambda i: run_sort_key(stats["method"].iloc[i],
                                                                           stats["schedule"].iloc[i]))]
    stats = stats.reset_index(drop=True)
    if delta_of is not None:
        reference = stats.loc[stats["method"] == REFERENCE_METHOD, f"{delta_of} mean"]
        stats[DELTA] = stats[f"{delta_of} mean"] - reference.iloc[0] if len(reference) == 1 else math.nan
    return Table(name, title, stats, list(columns.values()), delta_of, empty_note, signed)


def accuracy_table(name: str, title: str, bench: pd.DataFrame, stages: list[str], split: str) -> Table:
    """Benchmarks of one split as columns (avg@n, %) plus their average."""
    part = bench[bench["stage"].isin(stages) & (bench["split"] == split)]
    names = benchmark_order(part["benchmark"].unique()) if not part.empty else []
    wide = part.pivot_table(index=RUN_INDEX, columns="benchmark", values="avg")
    if not wide.empty:
        wide["Avg"] = split_averages(part).set_index(RUN_INDEX)[SPLIT_AVERAGES[split]]
    columns = {n: get_benchmark(n).label for n in names} | {"Avg": "Avg"}
    return metric_table(name, title, wide.reset_index(), columns, delta_of="Avg")


def post_rl_table(bench: pd.DataFrame) -> Table:
    """After GRPO: in-distribution benchmarks, both split averages, and the RL gain over each run's SFT checkpoint."""
    rl = bench[bench["stage"] == "rl"]
    if rl.empty:
        return metric_table("post_rl", "After RL (GRPO), avg@n (%)", rl, {"ID avg": "ID avg"}, delta_of="ID avg",
                            empty_note="no RL results yet: the rl rules of the workflow fill this table")
    averages = split_averages(bench).set_index(RUN_INDEX)
    id_names = benchmark_order(rl.loc[rl["split"] == "id", "benchmark"].unique())
    wide = rl[rl["split"] == "id"].pivot_table(index=RUN_INDEX, columns="benchmark", values="avg")
    present = [c for c in SPLIT_AVERAGES.values() if c in averages]
    wide = wide.join(averages.loc[averages.index.get_level_values("stage") == "rl", present])
    if "sft" in set(bench["stage"]):
        before = averages.xs("sft", level="stage")["ID avg"]
        wide["RL gain"] = wide["ID avg"].to_numpy() - before.reindex(wide.index.droplevel("stage")).to_numpy()
    columns = {n: get_benchmark(n).label for n in id_names}
    columns |= {c: c for c in ("ID avg", "OOD avg", "RL gain") if c in wide}
    return metric_table("post_rl", "After RL (GRPO), avg@n (%); RL gain: ID avg minus the run's SFT checkpoint",
                        wide.reset_index(), columns, delta_of="ID avg", signed=("RL gain",))


def pass_at_k_table(bench: pd.DataFrame) -> Table:
    """pass@k over the in-distribution benchmarks (mean over benchmarks per checkpoint)."""
    part = bench[bench["stage"].isin(PRE_RL) & (bench["split"] == "id")]
    pass_cols = sorted((c for c in part.columns if c.startswith("pass@") and part[c].notna().any()),
                       key=lambda c: int(c[5:]))
    per_run = part.groupby(RUN_INDEX, as_index=False)[pass_cols].mean()
    return metric_table("pass_at_k", "pass@k (%), mean over in-distribution benchmarks", per_run,
                        {c: c for c in pass_cols}, delta_of=pass_cols[-1] if pass_cols else None)


def checkpoint_steps(bench: pd.DataFrame) -> dict:
    """(stage, method, schedule) -> "60" or, when the seeds' checkpoints differ (a selected best step), "40/60"
    in seed order; "–" where a step is not known (the base model)."""
    out = {}
    for (stage, method, schedule), part in bench.groupby(["stage", "method", "schedule"], sort=False):
        per_seed = part.groupby("seed")["step"].first().sort_index()
        texts = ["–" if pd.isna(v) else str(int(v)) for v in per_seed]
        out[(stage, method, schedule)] = texts[0] if len(set(texts)) == 1 else "/".join(texts)
    return out


def annotate(table: Table, steps: dict, significance: dict, selected_by: str | None) -> Table:
    """Attach the steps, the stars of significant deltas and the selection flag to a table of one stage set."""
    if table.empty:
        return table
    stages = set(table.rows["stage"])
    table.steps = {(m, s): steps[(st, m, s)] for st, m, s in zip(table.rows["stage"], table.rows["method"],
                                                                 table.rows["schedule"]) if (st, m, s) in steps}
    key = {"Avg": None, "ID avg": "id", "OOD avg": "ood"}
    if table.delta_of in key:
        split = key[table.delta_of] or ("id" if table.name == "in_distribution" else "ood")
        table.significant = {(m, s) for (st, m, s, column), result in significance.items()
                             if st in stages and column == split and result.p_value < 0.05}
    if selected_by:
        split = selected_by if selected_by in SPLIT_AVERAGES else get_benchmark(selected_by).split
        table_split = {"in_distribution": "id", "out_of_distribution": "ood"}.get(table.name)
        if selected_by in SPLIT_AVERAGES:
            labels = (set(table.columns) if table_split == split else set()) | {SPLIT_AVERAGES[split]}
        else:
            labels = {get_benchmark(selected_by).label, SPLIT_AVERAGES[split], *(["Avg"] if table_split == split else [])}
        labels &= set(table.columns) - {"RL gain"}
        table.selected_on = tuple(sorted(labels))
        table.selection_note = (f"each run's checkpoint is its best step by {selected_by} on the curve evaluation "
                                f"(eval.select=best:{selected_by})" + ("; † marks the columns it was selected on: "
                                                                       "their numbers are optimistic" if labels else ""))
    return table


def protocol_note(table: Table, protocols: dict[str, str]) -> str:
    """"evaluation protocol: X" when every benchmark of the table's columns (all benchmarks, for a table
    whose columns are not benchmarks) was evaluated with X, else the protocol of each column."""
    labels = {get_benchmark(b).label: p for b, p in protocols.items() if get_benchmark(b).label in table.columns}
    if not labels:
        every = set(protocols.values())
        return f"evaluation protocol: {every.pop()}" if len(every) == 1 else ""
    if len(set(labels.values())) == 1:
        return f"evaluation protocol: {next(iter(labels.values()))}"
    return "evaluation protocols: " + ", ".join(f"{c} {p}" for c, p in labels.items())


def paper_tables(bench: pd.DataFrame, significance: dict | None = None, selected_by: str | None = None,
                 protocols: dict[str, str] | None = None) -> list[Table]:
    """The four paper tables from per-benchmark metrics (curiosft.evaluation.metrics.per_benchmark);
    `significance`: (stage, method, schedule, column) -> PairedTest (curiosft.report.significance);
    `protocols`: benchmark -> the evaluation protocol of its records (evaluation.records.check_one_protocol)."""
    steps = checkpoint_steps(bench) if "step" in bench else {}
    tables = [
        accuracy_table("in_distribution", "In-distribution math, avg@n (%)", bench, PRE_RL, "id"),
        accuracy_table("out_of_distribution", "Out-of-distribution multiple choice, avg@n (%)", bench, PRE_RL, "ood"),
        post_rl_table(bench),
        pass_at_k_table(bench),
    ]
    tables = [annotate(t, steps, significance or {}, selected_by) for t in tables]
    for t in tables:
        t.protocol_note = protocol_note(t, protocols or {})
    return tables


def _fmt(value: float, digits: int = 1, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _best(table: Table) -> dict[str, float]:
    contenders = table.rows[table.rows["method"] != "base"]
    return {c: contenders[f"{c} mean"].max() for c in table.columns if not contenders.empty}


def _cells(table: Table, bold, pm: str) -> list[list[str]]:
    best = _best(table)
    lines = []
    for _, row in table.rows.iterrows():
        cells = [row["label"], str(int(row["seeds"]))]
        if table.steps:
            cells.append(table.steps.get((row["method"], row["schedule"]), "–"))
        for c in table.columns:
            mean, std = row[f"{c} mean"], row[f"{c} std"]
            text = _fmt(mean, signed=c in table.signed)
            if not math.isnan(mean) and row["method"] != "base" and math.isclose(mean, best.get(c, math.nan)):
                text = bold(text)
            if not math.isnan(std):
                text += f"{pm}{_fmt(std)}"
            cells.append(text)
        if table.delta_of is not None:
            star = "*" if (row["method"], row["schedule"]) in table.significant else ""
            cells.append("" if row["method"] == REFERENCE_METHOD else _fmt(row[DELTA], signed=True) + star)
        lines.append(cells)
    return lines


def _header(table: Table) -> list[str]:
    columns = [f"{c} †" if c in table.selected_on else c for c in table.columns]
    return ["Method", "Seeds", *(["Step"] if table.steps else []), *columns,
            *([DELTA] if table.delta_of is not None else [])]


def _notes(table: Table) -> str:
    notes = ["Mean ± std over seeds (sample std)"]
    if table.delta_of:
        notes += ["best mean per column in bold", f"{DELTA}: difference to the SFT row's {table.delta_of}, * where "
                  "the paired bootstrap test over prompts and seeds gives p < 0.05 (significance table)"]
    if table.steps:
        notes.append("Step: the training step of each seed's checkpoint")
    if table.selection_note:
        notes.append(table.selection_note)
    if table.protocol_note:
        notes.append(table.protocol_note)
    return "; ".join(notes) + "."


def to_markdown(table: Table) -> str:
    lines = [f"**{table.title}**", ""]
    if table.empty:
        return "\n".join([*lines, f"_{table.empty_note}_", ""])
    header = _header(table)
    lines += markdown_table(header, _cells(table, lambda t: f"**{t}**", " ± "), "l" + "r" * (len(header) - 1))
    lines += ["", _notes(table), ""]
    return "\n".join(lines)


def _latex_escape(text: str) -> str:
    for a, b in [("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                 ("Δ", r"$\Delta$"), ("±", r"$\pm$"), ("†", r"\dag{}")]:
        text = text.replace(a, b)
    return text


def to_latex(table: Table) -> str:
    if table.empty:
        return f"% {table.title}: {table.empty_note}\n"
    header = [_latex_escape(h) for h in _header(table)]
    body = [[_latex_escape(table_cell) if i == 0 else table_cell for i, table_cell in enumerate(cells)]
            for cells in _cells(table, lambda t: rf"\textbf{{{t}}}", r"$\pm$")]
    lines = [
        "% " + table.title + " (generated by curiosft report; needs \\usepackage{booktabs})",
        "% " + _notes(table),
        r"\begin{tabular}{l" + "r" * (len(header) - 1) + "}",
        r"\toprule",
        " & ".join(header) + r" \\",
        r"\midrule",
        *[" & ".join(cells) + r" \\" for cells in body],
        r"\bottomrule",
        r"\end{tabular}",
    ]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    keep = ["label", "stage", "method", "schedule", "seeds"]
    values = [f"{c} {s}" for c in table.columns for s in ("mean", "std")]
    delta = [DELTA, "p < 0.05"] if table.delta_of is not None else []
    if table.empty:
        return ",".join([*keep, "steps", *values, *delta]) + "\n"
    rows = table.rows.assign(steps=[table.steps.get((m, s), "") for m, s in zip(table.rows["method"],
                                                                             table.rows["schedule"])])
    if delta:
        rows["p < 0.05"] = [(m, s) in table.significant for m, s in zip(rows["method"], rows["schedule"])]
    return rows[[*keep, "steps", *values, *delta]].to_csv(index=False, float_format="%.4f")


def write_table(table: Table, out_dir: str | Path) -> list[Path]:
    written = []
    for suffix, render in ((".csv", to_csv), (".md", to_markdown), (".tex", to_latex)):
        path = Path(out_dir) / f"{table.name}{suffix}"
        with atomic_path(path) as tmp:
            tmp.write_text(render(table))
        written.append(path)
    return written
