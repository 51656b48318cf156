"""How methods, schedules and checkpoints are named in tables and figures: each method's label and row
order come from its module (curiosft.methods: `Method.label`, `Method.order`), each schedule's from its
registered config (curiosft.schedules: `label`, `order`)."""

from __future__ import annotations

from curiosft.methods import method_class, method_names, uses_teacher
from curiosft.schedules import NO_SCHEDULE, schedule_label, schedule_names

BASE = "base"
REFERENCE_METHOD = "sft"
# checkpoints before RL (the base model and the SFT runs): the rows of the pre-RL tables and figures
PRE_RL = ["base", "sft"]


def method_label(method: str) -> str:
    if method == BASE:
        return "Base model"
    return method_class(method).label if method in method_names() else method


def method_order() -> list[str]:
    """Row order: the base model, then the registered methods in their order (the baseline SFT first)."""
    return [BASE, *method_names()]


def run_label(method: str, schedule: str) -> str:
    """`CurioSFT (entropy-guided)`; methods without a teacher have no schedule in their name."""
    label = method_label(method)
    return label if schedule == NO_SCHEDULE else f"{label} ({schedule_label(schedule)})"


def run_sort_key(method: str, schedule: str) -> tuple:
    order = method_order()
    m = order.index(method) if method in order else len(order)
    schedules = schedule_names(with_none=True)
    s = schedules.index(schedule) if schedule in schedules else len(schedules)
    return (m, s, method, schedule)


def ordered_labels(frame) -> list[str]:
    """The labels of the (method, schedule) pairs present in `frame`, in row order."""
    pairs = sorted({(m, s) for m, s in zip(frame["method"], frame["schedule"])}, key=lambda p: run_sort_key(*p))
    return [run_label(m, s) for m, s in pairs]


def known_runs() -> list[tuple[str, str]]:
    """Every (method, schedule) the project can produce, in row order: one fixed colour each across all figures."""
    return [(BASE, "none"), *[(m, s) for m in method_names()
                              for s in (schedule_names() if uses_teacher(m) else [NO_SCHEDULE])]]
