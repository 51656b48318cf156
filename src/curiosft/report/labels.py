"""How methods, schedules and checkpoints are named in tables and figures (one place)."""

from __future__ import annotations

METHOD_LABELS = {
    "base": "Base model", "sft": "SFT", "psft": "PSFT", "curiosft": "CurioSFT",
    "entropy_reg": "Entropy reg.", "dft": "DFT",
}
SCHEDULE_LABELS = {"entropy_guided": "entropy-guided", "fixed": "fixed", "annealed": "annealed"}
# row order: the base model, the baseline, then the methods in the papers' order
METHOD_ORDER = ["base", "sft", "psft", "curiosft", "entropy_reg", "dft"]
SCHEDULE_ORDER = ["none", "entropy_guided", "fixed", "annealed"]
REFERENCE_METHOD = "sft"
# checkpoints before RL (the base model and the SFT runs): the rows of the pre-RL tables and figures
PRE_RL = ["base", "sft"]


def run_label(method: str, schedule: str) -> str:
    """`CurioSFT (entropy-guided)`; methods without a teacher have no schedule in their name."""
    label = METHOD_LABELS.get(method, method)
    return label if schedule == "none" else f"{label} ({SCHEDULE_LABELS.get(schedule, schedule)})"


def run_sort_key(method: str, schedule: str) -> tuple:
    m = METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)
    s = SCHEDULE_ORDER.index(schedule) if schedule in SCHEDULE_ORDER else len(SCHEDULE_ORDER)
    return (m, s, method, schedule)


def ordered_labels(frame) -> list[str]:
    """The labels of the (method, schedule) pairs present in `frame`, in row order."""
    pairs = sorted({(m, s) for m, s in zip(frame["method"], frame["schedule"])}, key=lambda p: run_sort_key(*p))
    return [run_label(m, s) for m, s in pairs]


# every run label the project can produce, in row order: one fixed colour each across all figures
KNOWN_RUNS = [("base", "none"), ("sft", "none"), ("psft", "none"),
              *[("curiosft", s) for s in SCHEDULE_ORDER[1:]], ("entropy_reg", "none"), ("dft", "none")]
