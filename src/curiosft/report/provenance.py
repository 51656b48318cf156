"""The runs behind a report: their manifests (curiosft.manifest) listed, compared, and their cost summed.

tables/runs.md, runs.csv   one row per job output: checkpoint, benchmark, commit (+ uncommitted changes),
                           the package versions that compute the numbers, hardware, wall time, GPU-hours
tables/cost.md, cost.csv   wall hours and GPU-hours per method x schedule and stage (SFT, RL, evaluation)

`comparison_warnings` compares the manifests of outputs that share a table (the same stage; for evaluations
the same benchmark and protocol): any difference in the resolved config outside the swept keys, in a
package version, in the commit, in an input file's hash (data and benchmark files; models differ by
design), or an uncommitted tree, is a warning that `curiosft report` prints and runs.md lists. The swept
keys are those the runs' own overrides set (method, schedule, seed, the sweep's method_overrides), plus the
sections that place a job and not what it computes (`paths`, `launcher`).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from curiosft.io import atomic_path
from curiosft.manifest import read_manifest
from curiosft.report.labels import run_label, run_sort_key
from curiosft.report.markdown import markdown_table
from curiosft.runid import parse_checkpoint
from curiosft.stages import get_stage, job_stage

PLACEMENT = ("paths", "launcher", "hydra")
# packages shown in runs.md (all of curiosft.manifest.PACKAGES are compared)
SHOWN_PACKAGES = ("torch", "transformers", "verl", "vllm")


def manifest_files(records: Iterable[str | os.PathLike] = (), training_metrics: Iterable[str | os.PathLike] = ()
                   ) -> list[Path]:
    """Where the manifests of these outputs lie: beside each records file, in each run directory."""
    records_stage, run_stage = get_stage("eval"), get_stage("sft")  # a records file; a run folder
    files = [records_stage.manifest_path(p) for p in records] + [run_stage.manifest_path(Path(p).parent)
                                                                 for p in training_metrics]
    return list(dict.fromkeys(files))


def load_manifests(paths: Iterable[Path]) -> tuple[list[dict], list[Path]]:
    """(manifests with their `path`, the paths that hold none: outputs written before manifests existed)."""
    found, missing = [], []
    for path in paths:
        manifest = read_manifest(path)
        if manifest is None:
            missing.append(Path(path))
        else:
            found.append({**manifest, "path": str(path)})
    return found, missing


def flatten(tree, prefix: str = "") -> dict:
    if isinstance(tree, dict):
        out = {}
        for key, value in tree.items():
            out |= flatten(value, f"{prefix}{key}.")
        return out
    return {prefix.rstrip("."): tree}


def swept_keys(manifests: list[dict]) -> set[str]:
    keys = set()
    for m in manifests:
        for override in m.get("overrides", []):
            keys.add(override.lstrip("+~").split("=", 1)[0])
    return keys | {"seed"}


def _ignored(key: str, swept: set[str]) -> bool:
    return any(key == k or key.startswith(k + ".") for k in (*swept, *PLACEMENT))


def _group_key(m: dict) -> tuple:
    return (m["stage"], m.get("benchmark") or "", bool(m.get("curve")))


def _group_name(key: tuple) -> str:
    stage, benchmark, curve = key
    return get_stage(stage).label + (f" on {benchmark}" if benchmark else "") + (" (curve)" if curve else "")


def _differences(manifests: list[dict], values) -> list[str]:
    """'a (N outputs) vs b (M)' for each field whose value differs; values(m) -> {field: value}."""
    seen: dict[str, dict] = defaultdict(lambda: defaultdict(list))
    for m in manifests:
        for field, value in values(m).items():
            seen[field][repr(value)].append(m["checkpoint"])
    lines = []
    for field, by_value in sorted(seen.items()):
        if len(by_value) > 1:
            parts = [f"{value} ({len(cks)}: {', '.join(sorted(cks)[:2])}{', ...' if len(cks) > 2 else ''})"
                     for value, cks in by_value.items()]
            lines.append(f"{field}: " + " vs ".join(parts))
    return lines


def comparison_warnings(manifests: list[dict]) -> list[str]:
    """Every difference between outputs compared in one table, outside the swept keys (see the module)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for m in manifests:
        groups[_group_key(m)].append(m)
    warnings = []
    for key, members in sorted(groups.items()):
        name = _group_name(key)
        swept = swept_keys(members)

        def config(m, swept=swept):
            flat = flatten(m.get("config", {}))
            return {f"config {k}": v for k, v in flat.items() if not _ignored(k, swept)}

        fields = [
            config,
            lambda m: {f"package {k}": v for k, v in m.get("packages", {}).items()},
            lambda m: {"git commit": (m.get("git") or {}).get("commit")},
            lambda m: {f"input {role} sha256": info.get("sha256") for role, info in m.get("inputs", {}).items()
                       if role != "model"},
        ]
        for values in fields:
            warnings += [f"{name}: {line}" for line in _differences(members, values)]
        dirty = [m["checkpoint"] for m in members if (m.get("git") or {}).get("dirty")]
        if dirty:
            warnings.append(f"{name}: {len(dirty)} outputs were produced from a tree with uncommitted changes "
                            f"({', '.join(sorted(dirty)[:3])}{', ...' if len(dirty) > 3 else ''})")
    return warnings


def _hardware(m: dict) -> str:
    hw = m.get("hardware", {})
    gpus = hw.get("gpus") or []
    if gpus:
        return f"{len(gpus)}x {gpus[0]}"
    return f"{hw.get('cpus')} CPUs ({hw.get('processor') or '?'})"


def runs_frame(manifests: list[dict]) -> pd.DataFrame:
    rows = []
    for m in manifests:
        git = m.get("git") or {}
        cost = m.get("cost", {})
        rows.append({
            "stage": m["stage"], "checkpoint": m["checkpoint"], "benchmark": m.get("benchmark") or "",
            "curve": bool(m.get("curve")), "job_outputs": int(m.get("outputs") or 1),
            "commit": (git.get("commit") or "")[:10], "dirty": bool(git.get("dirty")),
            **{p: (m.get("packages") or {}).get(p) or "" for p in SHOWN_PACKAGES},
            "hardware": _hardware(m), "host": (m.get("hardware") or {}).get("host", ""),
            "attempts": len(cost.get("attempts", [])), "wall_s": cost.get("wall_s", math.nan),
            "gpu_hours": cost.get("gpu_hours", math.nan), "cost_source": cost.get("source", ""),
        })
    frame = pd.DataFrame(rows)
    return frame.sort_values(["stage", "checkpoint", "benchmark"]).reset_index(drop=True) if rows else frame


def cost_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """Per method x schedule: jobs, wall hours and GPU-hours of its SFT, RL and evaluation jobs, and the total.
    An evaluation job that wrote several benchmarks' records counts once: each of its outputs a 1/outputs share."""
    if runs.empty:
        return pd.DataFrame(columns=["label", "method", "schedule", "part", "jobs", "wall_hours", "gpu_hours"])
    frame = runs.copy()
    run_ids = [parse_checkpoint(c)[0] for c in frame["checkpoint"]]
    frame["method"] = [r.method for r in run_ids]
    frame["schedule"] = [r.schedule for r in run_ids]
    frame["part"] = [job_stage(s, curve=bool(c)).label for s, c in zip(frame["stage"], frame["curve"])]
    share = 1 / frame["job_outputs"]
    frame["jobs"] = share
    frame["wall_hours"] = frame["wall_s"] * share / 3600
    frame["gpu_hours"] = frame["gpu_hours"] * share
    cost = frame.groupby(["method", "schedule", "part"], as_index=False)[["jobs", "wall_hours", "gpu_hours"]].sum()
    cost["jobs"] = cost["jobs"].round().astype(int)
    total = cost.groupby(["method", "schedule"], as_index=False)[["jobs", "wall_hours", "gpu_hours"]].sum()
    cost = pd.concat([cost, total.assign(part="total")], ignore_index=True)
    order = {"SFT": 0, "RL": 1, "evaluation": 2, "curve evaluation": 3, "total": 4}
    cost["label"] = [run_label(m, s) for m, s in zip(cost["method"], cost["schedule"])]
    cost = cost.iloc[sorted(range(len(cost)), key=lambda i: (run_sort_key(cost["method"].iloc[i],
                                                                          cost["schedule"].iloc[i]),
                                                             order[cost["part"].iloc[i]]))]
    return cost[["label", "method", "schedule", "part", "jobs", "wall_hours", "gpu_hours"]].reset_index(drop=True)


def runs_markdown(runs: pd.DataFrame, warnings: list[str], missing: list[Path]) -> str:
    lines = ["**The runs behind these tables (one row per job output; manifests: curiosft.manifest)**", ""]
    if warnings:
        lines += ["Warnings: outputs compared in one table differ in more than the swept keys:", "",
                  *[f"- {w}" for w in warnings], ""]
    else:
        lines += ["Outputs compared in one table differ only in the swept keys (config, versions, commit, data).", ""]
    if missing:
        lines += [f"{len(missing)} outputs have no manifest (written before manifests existed), e.g. {missing[0]}", ""]
    if not runs.empty:
        cols = ["stage", "checkpoint", "benchmark", "commit", "dirty", *SHOWN_PACKAGES, "hardware", "attempts",
                "wall_s", "gpu_hours"]
        lines += markdown_table(cols, [[f"{row[c]:.1f}" if c == "wall_s" else f"{row[c]:.3f}" if c == "gpu_hours"
                                        else str(row[c]) for c in cols] for _, row in runs.iterrows()])
    return "\n".join(lines) + "\n"


def cost_markdown(cost: pd.DataFrame) -> str:
    lines = ["**Cost: wall hours and GPU-hours per method (SLURM: sacct's elapsed time and allocated GPUs; "
             "elsewhere the jobs' own clocks)**", ""]
    if cost.empty:
        return "\n".join([*lines, "_no manifests yet_", ""])
    rows = []
    for _, row in cost.iterrows():
        bold = (lambda t: f"**{t}**") if row["part"] == "total" else (lambda t: t)
        rows.append([row["label"], bold(row["part"]), row["jobs"], bold(f"{row.wall_hours:.3f}"),
                     bold(f"{row.gpu_hours:.3f}")])
    lines += markdown_table(["Method", "Part", "Jobs", "Wall hours", "GPU-hours"], rows, "llrrr")
    return "\n".join(lines) + "\n"


def write_provenance(manifest_paths: Iterable[Path], out_dir: str | Path) -> tuple[list[Path], list[str]]:
    """runs.{md,csv} and cost.{md,csv} under out_dir; returns (written files, warnings)."""
    manifests, missing = load_manifests(manifest_paths)
    warnings = comparison_warnings(manifests)
    runs = runs_frame(manifests)
    cost = cost_frame(runs)
    written = []
    for name, text in (("runs.md", runs_markdown(runs, warnings, missing)),
                       ("runs.csv", runs.to_csv(index=False, float_format="%.4f")),
                       ("cost.md", cost_markdown(cost)), ("cost.csv", cost.to_csv(index=False, float_format="%.4f"))):
        path = Path(out_dir) / name
        with atomic_path(path) as tmp:
            tmp.write_text(text)
        written.append(path)
    return written, warnings
