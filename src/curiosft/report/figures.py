"""Paper figures (seaborn), each saved as PNG and PDF: bands are +-1 std over seeds.

Figures are plain matplotlib `Figure` objects (no pyplot state, no backend switching): they save on a
headless machine and display inline in a notebook alike.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from curiosft.benchmarks import benchmark_order, get_benchmark
from curiosft.io import atomic_path
from curiosft.report.labels import BASE, PRE_RL, known_runs, ordered_labels, run_label
from curiosft.stages import training_stages

sns.set_theme(style="whitegrid", context="paper", font_scale=1.1)


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(Method=[run_label(m, s) for m, s in zip(frame["method"], frame["schedule"])])


_KNOWN_LABELS = [run_label(m, s) for m, s in known_runs()]
# the base model in grey; the methods in the colour-blind palette, SFT first (blue)
_COLORS = {label: color for label, color in zip(_KNOWN_LABELS[1:], sns.color_palette("colorblind", 10))}
_COLORS[_KNOWN_LABELS[0]] = (0.55, 0.55, 0.55)


def _palette(labels: list[str]) -> dict[str, tuple]:
    """The same colour for a method in every figure; unknown labels get the palette's spare colours."""
    spare = iter(sns.color_palette("colorblind", 10)[len(_COLORS) - 1:] + sns.color_palette("dark", 10))
    return {label: _COLORS.get(label) or next(spare) for label in labels}


def save_figure(fig, out_dir: str | Path, name: str) -> list[Path]:
    written = []
    for suffix in (".png", ".pdf"):
        path = Path(out_dir) / f"{name}{suffix}"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=150, bbox_inches="tight", format=suffix[1:])
        written.append(path)
    return written


def _subplots(ncols: int, width: float, height: float = 3.8, **kwargs):
    fig = Figure(figsize=(width, height))
    axes = fig.subplots(1, ncols, squeeze=False, **kwargs)
    return fig, axes


def seeds_note(frame: pd.DataFrame) -> str:
    """How many seeds each line or bar averages: "2 seeds", or "2-3 seeds" when the methods differ (the
    base model, one checkpoint, is not counted)."""
    runs = frame[frame["method"] != BASE] if "method" in frame else frame
    counts = runs.groupby(["method", "schedule"])["seed"].nunique() if not runs.empty else pd.Series([1])
    low, high = int(counts.min()), int(counts.max())
    return f"{low} seed{'s' if high > 1 else ''}" if low == high else f"{low}-{high} seeds"


def method_legend(fig: Figure, labels: list[str], palette: dict[str, tuple], seeds: str, *, kind: str = "line"):
    """One legend for the whole figure, right of its panels: a handle per method (and schedule) in row
    order, titled with what the lines or bars average ("mean ± std over 2 seeds"). Call after tight_layout;
    savefig(bbox_inches="tight") keeps it in the picture."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=palette[label], label=label) if kind == "bar"
               else Line2D([], [], color=palette[label], marker="o", label=label) for label in labels]
    return fig.legend(handles=handles, title=f"method (mean ± std over {seeds})", loc="upper left",
                      bbox_to_anchor=(1.0, 0.95), frameon=False)


def training_curves(train: pd.DataFrame, metrics: dict[str, str], title: str):
    """One panel per metric (column -> axis label), x = step, a line per method with a band over seeds."""
    frame = _labelled(train)
    labels = ordered_labels(frame)
    fig, axes = _subplots(len(metrics), 5.2 * len(metrics))
    for ax, (column, axis_label) in zip(axes[0], metrics.items()):
        sns.lineplot(data=frame, x="step", y=column, hue="Method", hue_order=labels, palette=_palette(labels),
                     errorbar="sd", ax=ax, legend=False)
        ax.set(xlabel="training step", ylabel=axis_label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    fig.tight_layout()
    method_legend(fig, labels, _palette(labels), seeds_note(frame))
    return fig


def eval_entropy(bench: pd.DataFrame):
    """Mean token entropy of the sampled responses, per benchmark and method (bars: mean, whiskers: std)."""
    frame = _labelled(bench)
    labels = ordered_labels(frame)
    names = benchmark_order(frame["benchmark"].unique())
    frame = frame.assign(Benchmark=[get_benchmark(b).label for b in frame["benchmark"]])
    fig, axes = _subplots(1, max(5.0, 1.6 * len(names) + 2.5))
    ax = axes[0][0]
    sns.barplot(data=frame, x="Benchmark", y="entropy", hue="Method", hue_order=labels, palette=_palette(labels),
                order=[get_benchmark(n).label for n in names], errorbar="sd", saturation=1.0, ax=ax, legend=False)
    ax.set(xlabel="benchmark", ylabel="mean token entropy (nats)", title="Response entropy at evaluation")
    fig.tight_layout()
    method_legend(fig, labels, _palette(labels), seeds_note(frame), kind="bar")
    return fig


def pass_at_k_curves(bench: pd.DataFrame):
    """pass@k against k (log2 axis), averaged over each split's benchmarks; one panel per split."""
    pass_cols = sorted((c for c in bench.columns if c.startswith("pass@")), key=lambda c: int(c[5:]))
    long = bench.melt(id_vars=["stage", "method", "schedule", "seed", "benchmark", "split"], value_vars=pass_cols,
                      var_name="k", value_name="pass")
    long["k"] = long["k"].str[5:].astype(int)
    # mean over the split's benchmarks per seed, then the band is over seeds
    long = long.groupby(["stage", "method", "schedule", "seed", "split", "k"], as_index=False)["pass"].mean()
    long = _labelled(long.dropna(subset=["pass"]))
    labels = ordered_labels(long)
    splits = [s for s in ("id", "ood") if s in set(long["split"])]
    fig, axes = _subplots(len(splits), 5.2 * len(splits), sharey=True)
    for ax, split in zip(axes[0], splits):
        sns.lineplot(data=long[long["split"] == split], x="k", y="pass", hue="Method", hue_order=labels,
                     palette=_palette(labels), errorbar="sd", marker="o", ax=ax, legend=False)
        ax.set_xscale("log", base=2)
        ks = sorted(long["k"].unique())
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set(xlabel="k (samples per prompt)", ylabel="pass@k (%)",
               title="in-distribution (math)" if split == "id" else "out-of-distribution (multiple choice)")
    fig.tight_layout()
    method_legend(fig, labels, _palette(labels), seeds_note(long))
    return fig


SPLIT_TITLES = {"id": "in-distribution accuracy (%)", "ood": "out-of-distribution accuracy (%)"}
STAGE_AXES = {"sft": "SFT step", "rl": "RL step"}


def accuracy_over_training(curves: pd.DataFrame, train: pd.DataFrame):
    """One row per stage (SFT, RL): avg@n per split against the step (a line per method, band: +-1 std over
    seeds), next to the training curve of the same steps (SFT: token entropy; RL: mean reward)."""
    per_split = curves.groupby(["stage", "method", "schedule", "seed", "step", "split"], as_index=False)["avg"].mean()
    stages = [s for s in training_stages() if s in set(per_split["stage"])]
    splits = [s for s in ("id", "ood") if s in set(per_split["split"])]
    side = {"sft": ("train/entropy", "student token entropy (nats)"), "rl": ("train/reward", "mean reward")}
    labels = ordered_labels(_labelled(per_split))
    palette = _palette(labels)
    ncols = len(splits) + 1
    fig = Figure(figsize=(4.6 * ncols, 3.6 * len(stages)))
    axes = fig.subplots(len(stages), ncols, squeeze=False)
    for row, stage in zip(axes, stages):
        part = _labelled(per_split[per_split["stage"] == stage])
        for ax, split in zip(row, splits):
            sns.lineplot(data=part[part["split"] == split], x="step", y="avg", hue="Method", hue_order=labels,
                         palette=palette, errorbar="sd", marker="o", ax=ax, legend=False)
            ax.set(xlabel=STAGE_AXES[stage], ylabel=SPLIT_TITLES[split])
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        column, axis_label = side[stage]
        ax = row[-1]
        trained = train[train["stage"] == stage] if not train.empty else train
        if not trained.empty and column in trained:
            sns.lineplot(data=_labelled(trained), x="step", y=column, hue="Method", hue_order=labels,
                         palette=palette, errorbar="sd", ax=ax, legend=False)
            ax.set(xlabel=STAGE_AXES[stage], ylabel=axis_label)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        else:
            ax.set_axis_off()
    fig.suptitle("Accuracy over training (curve evaluation: eval.curve), next to the training curve")
    fig.tight_layout()
    # one legend for all panels (a per-panel one was lost: `row is axes[0]` compared two numpy views)
    method_legend(fig, labels, palette, seeds_note(per_split))
    return fig


def paper_figures(bench: pd.DataFrame, train: pd.DataFrame, curves: pd.DataFrame | None = None) -> dict[str, Figure]:
    """Name -> figure, for what the metrics hold: `bench` from curiosft.evaluation.metrics.per_benchmark,
    `train` from curiosft.report.training.read_training_metrics (may be empty), `curves` per_benchmark of
    the curve records (None: no accuracy_over_training)."""
    out = {}
    if curves is not None and not curves.empty:
        out["accuracy_over_training"] = accuracy_over_training(curves, train)
    sft_train = train[train["stage"] == "sft"] if not train.empty else train
    if not sft_train.empty:
        out["training_entropy"] = training_curves(
            sft_train, {"train/entropy": "student token entropy (nats)", "train/nll": "NLL of the demonstrations"},
            "SFT training: student token entropy and NLL")
    pre_rl = bench[bench["stage"].isin(PRE_RL)]
    if not pre_rl.empty:
        out["eval_entropy"] = eval_entropy(pre_rl)
        out["pass_at_k"] = pass_at_k_curves(pre_rl)
    rl_train = train[train["stage"] == "rl"] if not train.empty else train
    if not rl_train.empty:
        present = {c: a for c, a in {"train/reward": "mean reward", "train/entropy": "response token entropy (nats)"}
                   .items() if c in rl_train}
        out["rl_curves"] = training_curves(rl_train, present,
                                           "RL (GRPO) training: reward and entropy")
    return out
