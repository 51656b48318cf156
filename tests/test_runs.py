"""A run's directory: which checkpoint counts (verl's tracker), completion and export after a cut-off save."""

from __future__ import annotations

import json

import pytest

from curiosft.errors import InputDataError
from curiosft.runs import TRACKER, export_model, is_complete, latest_checkpoint


def _complete_checkpoint(root, step):
    hf = root / f"global_step_{step}" / "huggingface"
    hf.mkdir(parents=True)
    (hf / "config.json").write_text(json.dumps({"model_type": "qwen2", "step": step}))
    (root / f"global_step_{step}" / "curiosft_teacher_rank0.pt").write_bytes(b"teacher")


def test_a_save_cut_off_after_the_teacher_file_is_not_the_latest_checkpoint(tmp_path):
    """global_step_4 holds only the teacher file (written before verl's own save started) and the tracker says
    2: step 2 is the latest, the run is not complete (4 steps), and the export is step 2's model."""
    root = tmp_path / "checkpoints"
    _complete_checkpoint(root, 2)
    (root / "global_step_4").mkdir()
    (root / "global_step_4" / "curiosft_teacher_rank0.pt").write_bytes(b"teacher")
    (root / TRACKER).write_text("2")
    (tmp_path / "progress.json").write_text(json.dumps({"total_training_steps": 4}))
    assert latest_checkpoint(tmp_path) == root / "global_step_2"
    assert not is_complete(tmp_path)
    model = export_model(tmp_path)
    assert json.loads((model / "config.json").read_text())["step"] == 2
    # once verl finishes the save it writes the tracker: then step 4 counts and the run is complete
    hf = root / "global_step_4" / "huggingface"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({"model_type": "qwen2", "step": 4}))
    (root / TRACKER).write_text("4")
    assert is_complete(tmp_path)


def test_no_tracker_means_no_checkpoint_and_a_bad_tracker_is_named(tmp_path):
    root = tmp_path / "checkpoints"
    _complete_checkpoint(root, 2)
    assert latest_checkpoint(tmp_path) is None  # folders alone: no save was marked finished
    (root / TRACKER).write_text("two")
    with pytest.raises(InputDataError, match="holds 'two', not a step number"):
        latest_checkpoint(tmp_path)
    (root / TRACKER).write_text("6")
    with pytest.raises(InputDataError, match="names step 6, but .*global_step_6 is missing"):
        latest_checkpoint(tmp_path)


def test_max_steps_beyond_the_data_is_refused_naming_both_numbers():
    from curiosft.errors import ConfigError
    from curiosft.rl.prompts import total_steps
    from curiosft.runs import check_steps_fit_the_data

    check_steps_fit_the_data(None, 8, 2, "trainer")
    check_steps_fit_the_data(16, 8, 2, "trainer")
    with pytest.raises(ConfigError, match=r"trainer.max_steps=17 is more than the data gives: trainer.epochs=2 x 8 "
                                          r"steps per epoch = 16 steps; lower trainer.max_steps to 16 or raise "
                                          r"trainer.epochs to 3"):
        check_steps_fit_the_data(17, 8, 2, "trainer")
    # the local RL backend counts verl's way: full batches per epoch x epochs, or max_steps within that
    assert total_steps(100, 16, 2, None) == 12 and total_steps(100, 16, 2, 5) == 5
    with pytest.raises(ConfigError, match="rl.max_steps=13 is more than the data gives: rl.epochs=2 x 6"):
        total_steps(100, 16, 2, 13)


def test_saved_steps_are_the_finished_saves_with_an_export_and_every_kth_keeps_the_last(tmp_path):
    from curiosft.runs import every_kth, model_step, saved_steps

    root = tmp_path / "checkpoints"
    for step in (20, 40, 60):
        _complete_checkpoint(root, step)
    (root / "global_step_80").mkdir()  # a save cut off: beyond the tracker
    (root / TRACKER).write_text("60")
    assert saved_steps(tmp_path, "huggingface") == [20, 40, 60]
    assert saved_steps(tmp_path, "actor/huggingface") == []
    assert every_kth([20, 40, 60], 1) == [20, 40, 60]
    assert every_kth([20, 40, 60, 80, 100], 2) == [40, 80, 100]
    assert every_kth([20, 40, 60], 0) == [] and every_kth([], 3) == []
    assert model_step(root / "global_step_40" / "huggingface") == 40
    (tmp_path / "progress.json").write_text(json.dumps({"total_training_steps": 60}))
    assert model_step(export_model(tmp_path)) == 60
    assert model_step(tmp_path) is None


def test_checkpoint_names_with_a_step_parse_and_bad_ones_are_refused():
    from curiosft.errors import ConfigError
    from curiosft.runid import RunId, parse_checkpoint

    run = RunId("rl", "psft", "none", 2)
    assert run.checkpoint_at(30) == "rl/method~psft/schedule~none/seed~2/step~30"
    assert parse_checkpoint(run.checkpoint_at(30)) == (run, 30)
    assert parse_checkpoint(run.checkpoint) == (run, None)
    assert parse_checkpoint("base") == (RunId.base(), None)
    for bad in ("base/step~3", "rl/method~psft/schedule~none/seed~2/step~x"):
        with pytest.raises(ConfigError, match="step"):
            parse_checkpoint(bad)
