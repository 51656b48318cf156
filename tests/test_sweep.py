"""Sweep expansion: schedules multiply only methods with a teacher; paths are key~value segments."""

from __future__ import annotations

import pytest

from curiosft.sweep import Run, expand_sweep


def test_schedules_multiply_only_teacher_methods():
    runs = expand_sweep(["sft", "psft", "curiosft"], ["entropy_guided", "fixed"], [1, 2])
    assert len(runs) == 2 + 2 + 2 * 2
    assert {r.schedule for r in runs if r.method != "curiosft"} == {"none"}
    assert len(set(runs)) == len(runs)


def test_paper_sweep_size():
    runs = expand_sweep(["sft", "psft", "curiosft", "entropy_reg", "dft"], ["entropy_guided", "fixed", "annealed"],
                        [1, 2, 3])
    assert len(runs) == 4 * 3 + 3 * 3


def test_run_path_and_overrides():
    run = Run("curiosft", "fixed", 2)
    assert run.path == "method~curiosft/schedule~fixed/seed~2"
    assert run.overrides == ["method=curiosft", "schedule=fixed", "seed=2"]


def test_method_overrides_apply_to_that_method_only():
    runs = expand_sweep(["sft", "psft"], [], [1], {"psft": ["trainer.lr=1e-6"]})
    by_method = {r.method: r for r in runs}
    assert by_method["psft"].overrides[-1] == "trainer.lr=1e-6"
    assert by_method["sft"].overrides == ["method=sft", "schedule=none", "seed=1"]
    with pytest.raises(ValueError, match="method_overrides names 'dft', which the sweep does not run"):
        expand_sweep(["sft"], [], [1], {"dft": ["trainer.lr=1"]})


@pytest.mark.parametrize(
    "methods,schedules,message",
    [
        (["curio"], ["fixed"], "unknown method 'curio'"),
        (["curiosft"], ["hot"], "unknown schedule 'hot'"),
        (["curiosft"], [], "no schedules"),
        (["sft"], ["none"], "unknown schedule 'none'"),
    ],
)
def test_bad_sweeps_are_rejected(methods, schedules, message):
    with pytest.raises(ValueError, match=message):
        expand_sweep(methods, schedules, [1])
