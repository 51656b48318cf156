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
    # a method the sweep does not run may keep its overrides (inherited from a parent experiment); a typo may not
    assert [r.method for r in expand_sweep(["sft"], [], [1], {"dft": ["trainer.lr=1"]})] == ["sft"]
    with pytest.raises(ValueError, match="method_overrides names 'dtf', which is not a method; choose from sft"):
        expand_sweep(["sft"], [], [1], {"dtf": ["trainer.lr=1"]})


def test_the_sweep_lives_with_its_experiment():
    """Each Hydra experiment carries its sweep (conf/experiment/<name>.yaml `sweep:`); the config checks it."""
    from curiosft.config import compose_config
    from curiosft.errors import ConfigError
    from curiosft.sweep import runs_of

    sweeps = {e: compose_config([f"experiment={e}"]).sweep for e in ("smoke", "tiny", "paper", "paper_psft")}
    assert [len(runs_of(s)) for s in sweeps.values()] == [2, 2 + 2 + 2 * 2, 4 * 3 + 3 * 3, 2 * 3]
    assert list(sweeps["smoke"].methods) == ["sft", "curiosft"]  # its own, not tiny's (which it inherits)
    assert list(compose_config(["experiment=smoke", "sweep.seeds=[1,2]"]).sweep.seeds) == [1, 2]
    for override, message in [("sweep.methods=[curio]", "unknown method 'curio'"),
                              ("sweep.schedules=[warm]", "unknown schedule 'warm'"),
                              ("sweep.seeds=[1,1]", "sweep.seeds=.1, 1. lists a value twice"),
                              ("sweep.methods=[]", "sweep.methods is empty")]:
        with pytest.raises(ConfigError, match=message):
            compose_config(["experiment=smoke", override])


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
