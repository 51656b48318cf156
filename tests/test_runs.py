"""A run's directory: which checkpoint counts (verl's tracker), completion and export after a cut-off save."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curiosft.errors import InputDataError
from curiosft.runid import RunId
from curiosft.runs import TRACKER, export_model, is_complete, latest_checkpoint, merge_metrics, read_attempt


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


def _line(step, **data):
    return json.dumps({"step": step, "data": data}) + "\n"


def test_a_torn_last_metrics_line_is_left_out_and_a_corrupt_one_is_named(tmp_path):
    """A trainer killed (or still writing) mid-line leaves a last line without its newline: not yet a line.
    The resume trains that step again, so the merged metrics lose nothing. A bad line before the end is a
    damaged file, named with its line number."""
    run = RunId("sft", "curiosft", "entropy_guided", 1)
    (tmp_path / "metrics.attempt-001.jsonl").write_text(_line(1, loss=3.0) + _line(2, loss=2.5)
                                                        + '{"step": 3, "data": {"lo')
    assert [r["step"] for r in read_attempt(tmp_path / "metrics.attempt-001.jsonl")] == [1, 2]
    (tmp_path / "metrics.attempt-002.jsonl").write_text(_line(3, loss=2.0) + _line(4, loss=1.5))
    assert merge_metrics(tmp_path, run) == 4
    merged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [(m["step"], m["data"]["loss"]) for m in merged] == [(1, 3.0), (2, 2.5), (3, 2.0), (4, 1.5)]
    (tmp_path / "metrics.attempt-002.jsonl").write_text(_line(3, loss=2.0) + "not json\n" + _line(4, loss=1.5))
    with pytest.raises(InputDataError, match=r"metrics.attempt-002.jsonl, line 2, is not a metrics line"):
        merge_metrics(tmp_path, run)


def test_lines_of_one_step_merge_within_an_attempt_and_a_later_attempt_replaces_the_step(tmp_path, capsys):
    """verl logs validation as a second line at the step: both are that step's metrics. A resumed attempt
    repeats steps after its checkpoint: its line replaces the earlier attempt's. A step no attempt logged
    (verl's PPO trainer saves before it logs) is named on stderr."""
    run = RunId("rl", "sft", "none", 2)
    (tmp_path / "metrics.attempt-001.jsonl").write_text(_line(1, loss=3.0) + _line(1, **{"val/loss": 3.5})
                                                        + _line(2, loss=2.0) + _line(3, loss=1.9))
    (tmp_path / "metrics.attempt-002.jsonl").write_text(_line(3, loss=1.8) + _line(5, loss=1.0))
    assert merge_metrics(tmp_path, run) == 4
    merged = {m["step"]: m for m in map(json.loads, (tmp_path / "metrics.jsonl").read_text().splitlines())}
    assert merged[1]["data"] == {"loss": 3.0, "val/loss": 3.5}
    assert merged[3]["data"] == {"loss": 1.8} and merged[5]["run"] == run.as_dict()
    assert "has no metrics for step(s) 4:" in capsys.readouterr().err


def _finished_run(tmp_path, steps=(2, 4, 6), hf="actor/huggingface") -> Path:
    """A finished run's folder: a checkpoint per step with weights, optimizer state and an HF export."""
    run = tmp_path / "run"
    for step in steps:
        checkpoint = run / "checkpoints" / f"global_step_{step}"
        (checkpoint / hf).mkdir(parents=True)
        (checkpoint / hf / "model.safetensors").write_bytes(b"w" * 100)
        (checkpoint / "actor" / "optim_world_size_1_rank_0.pt").parent.mkdir(parents=True, exist_ok=True)
        (checkpoint / "actor" / "optim_world_size_1_rank_0.pt").write_bytes(b"o" * 200)
        (checkpoint / "extra_state.pt").write_bytes(b"e" * 10)
    (run / "checkpoints" / "latest_checkpointed_iteration.txt").write_text(str(steps[-1]))
    (run / "progress.json").write_text(json.dumps({"total_training_steps": steps[-1]}))
    return run


def test_a_finished_run_keeps_its_exports_and_drops_the_state(tmp_path):
    from curiosft.runs import prune_finished_run

    run = _finished_run(tmp_path)
    pruned = prune_finished_run(run, "actor/huggingface")
    assert pruned == {"freed_bytes": 3 * 210, "kept_steps": [2, 4, 6]}
    assert sorted(p.name for p in (run / "checkpoints" / "global_step_4").rglob("*")) == [
        "actor", "huggingface", "model.safetensors"]
    # still finished, and its latest export (what a re-run exports again) is there
    assert is_complete(run) and (latest_checkpoint(run) / "actor" / "huggingface" / "model.safetensors").is_file()
    # keep the last one only: the earlier steps go whole
    pruned = prune_finished_run(run, "actor/huggingface", keep_last=1)
    assert pruned == {"freed_bytes": 2 * 100, "kept_steps": [6]}
    # a run not finished is left as it is (it resumes from its state)
    unfinished = _finished_run(tmp_path / "u")
    (unfinished / "progress.json").write_text(json.dumps({"total_training_steps": 8}))
    assert prune_finished_run(unfinished, "actor/huggingface")["freed_bytes"] == 0
    assert (unfinished / "checkpoints" / "global_step_2" / "extra_state.pt").is_file()
    # keep_state keeps everything but the steps beyond keep_last
    kept = _finished_run(tmp_path / "k", hf="huggingface")
    assert prune_finished_run(kept, "huggingface", keep_state=True) == {"freed_bytes": 0, "kept_steps": [2, 4, 6]}
