"""Stage 1 through verl's real SFT trainer on CPU (torchrun, FSDP2, gloo): every method, metrics,
1 vs 2 processes, kill and resume, Hugging Face export."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

pytestmark = pytest.mark.verl

SCHEDULE = {"curiosft": "entropy_guided"}


@pytest.fixture(scope="module")
def world(smoke_world) -> Path:
    return smoke_world


def sft_command(results: Path, run_dir: Path, method: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "curiosft.cli", "sft", "--out", str(run_dir), "experiment=smoke",
            f"paths.results={results}", f"method={method}", f"schedule={SCHEDULE.get(method, 'none')}", *extra]


def run_sft(results: Path, run_dir: Path, method: str, *extra: str) -> list[dict]:
    proc = subprocess.run(sft_command(results, run_dir, method, *extra), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return read_metrics(run_dir)


def read_metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


COMMON = {"train/loss", "train/nll", "train/entropy", "train/grad_norm", "train/lr", "train/tokens"}
PER_METHOD = {
    "sft": set(),
    "dft": set(),
    "entropy_reg": set(),
    "psft": {"train/clip_fraction", "train/ratio", "train/mini_batches"},
    "eaft": {"train/eaft_weight", "train/top_entropy"},
    "asft": {"train/kl"},
    "curiosft": {"train/tau", "train/tau_q10", "train/tau_q50", "train/tau_q90", "train/teacher_entropy",
                 "train/distill", "train/teacher_nll", "train/teacher_syncs"},
}


@pytest.mark.parametrize("method", sorted(PER_METHOD))
def test_every_method_trains_through_verl(world, tmp_path, method):
    metrics = run_sft(world, tmp_path / method, method)
    assert [m["step"] for m in metrics] == [1, 2, 3, 4]
    for record in metrics:
        data = record["data"]
        assert COMMON | PER_METHOD[method] <= set(data), sorted(data)
        assert data["train/entropy"] > 0 and data["train/nll"] > 0
    last = metrics[-1]["data"]
    if method == "sft":
        assert last["train/loss"] == pytest.approx(last["train/nll"], rel=1e-4)
    if method == "entropy_reg":
        # the value it trains with: verl's logged loss is the method's, NLL minus beta times the entropy
        beta = OmegaConf.load(tmp_path / method / "config.yaml").method.beta
        for record in metrics:
            data = record["data"]
            assert data["train/loss"] == pytest.approx(data["train/nll"] - beta * data["train/entropy"], rel=1e-4)
    if method == "curiosft":
        assert last["train/loss"] == pytest.approx(last["train/nll"] + last["train/distill"], rel=1e-4)
        assert 1.1 - 1e-6 <= last["train/tau"] <= 1.5 + 1e-6
    if method == "asft":
        # DFT plus alpha KL(reference || student): the frozen reference is the base model, so the KL starts at 0
        assert metrics[0]["data"]["train/kl"] == pytest.approx(0.0, abs=1e-6)
        assert last["train/kl"] > 0
    if method == "eaft":
        # the weight (H_top20 / 3) ** alpha is below ln(20) / 3 < 1: the loss is at most the NLL
        assert 0 < last["train/eaft_weight"] < 1 and last["train/loss"] <= last["train/nll"] * (1 + 1e-4)
    if method == "psft":
        assert metrics[0]["data"]["train/mini_batches"] == 8
        assert 0 <= last["train/clip_fraction"] <= 1
    # the final model is a loadable Hugging Face checkpoint
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tmp_path / method / "model")
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / method / "model")
    assert model.config.model_type == "qwen2" and tokenizer.eos_token == "<|im_end|>"
    saved = OmegaConf.load(tmp_path / method / "config.yaml")
    assert saved.method.name == method
    # every metrics line carries its run
    assert {tuple(sorted(m["run"].items())) for m in metrics} == {
        (("method", method), ("schedule", SCHEDULE.get(method, "none")), ("seed", 1), ("stage", "sft"))}


def test_seeds_change_the_data_order(world, tmp_path):
    one = run_sft(world, tmp_path / "s1", "sft", "seed=1", "trainer.max_steps=2")
    two = run_sft(world, tmp_path / "s2", "sft", "seed=2", "trainer.max_steps=2")
    assert [m["data"]["train/loss"] for m in one] != [m["data"]["train/loss"] for m in two]
    again = run_sft(world, tmp_path / "s1b", "sft", "seed=1", "trainer.max_steps=2")
    assert [m["data"]["train/loss"] for m in one] == [m["data"]["train/loss"] for m in again]


@pytest.mark.parametrize("method", ["sft", "curiosft"])
def test_one_and_two_processes_log_the_same_values(world, tmp_path, method):
    one = run_sft(world, tmp_path / "one", method, "launcher.nproc_per_node=1", "launcher.threads_per_process=2")
    two = run_sft(world, tmp_path / "two", method, "launcher.nproc_per_node=2", "launcher.threads_per_process=1")
    keys = ["train/loss", "train/nll", "train/entropy", "train/tokens"]
    if method == "curiosft":
        keys += ["train/tau", "train/distill", "train/teacher_entropy", "train/tau_q50"]
    for a, b in zip(one, two, strict=True):
        for key in keys:
            assert a["data"][key] == pytest.approx(b["data"][key], rel=2e-4, abs=1e-6), (a["step"], key)


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants at once (what a node failure does to a job)."""
    import psutil

    root = psutil.Process(pid)
    for p in [*root.children(recursive=True), root]:
        p.send_signal(signal.SIGKILL)


def test_killed_run_resumes_from_its_last_checkpoint(world, tmp_path):
    """Kill -9 mid-run, start the same command again: it continues from the checkpoint, steps continue."""
    run_dir = tmp_path / "run"
    cmd = sft_command(world, run_dir, "curiosft", "trainer.max_steps=6", "trainer.save_freq=2")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # verl writes its tracker last, when a checkpoint (student, optimizer, data state, teacher) is complete
    marker = run_dir / "checkpoints" / "latest_checkpointed_iteration.txt"
    deadline = time.time() + 300
    while not marker.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "the run never wrote its first checkpoint"
    kill_tree(proc.pid)
    proc.wait()
    killed_steps = [json.loads(line)["step"] for line in
                    next(run_dir.glob("metrics.attempt-001.jsonl")).read_text().splitlines()]
    assert killed_steps and max(killed_steps) < 6

    metrics = run_sft(world, run_dir, "curiosft", "trainer.max_steps=6", "trainer.save_freq=2")
    assert [m["step"] for m in metrics] == [1, 2, 3, 4, 5, 6]
    resumed = [json.loads(line)["step"] for line in (run_dir / "metrics.attempt-002.jsonl").read_text().splitlines()]
    assert resumed[0] > 2 and resumed[-1] == 6, resumed
    assert metrics[-1]["data"]["train/teacher_syncs"] == 1  # synced at step 5, counted across the restart
    assert (run_dir / "model" / "model.safetensors").is_file()
    # a complete run started again only re-exports: no extra step, no new attempt
    again = run_sft(world, run_dir, "curiosft", "trainer.max_steps=6", "trainer.save_freq=2")
    assert [m["step"] for m in again] == [1, 2, 3, 4, 5, 6]
    assert not (run_dir / "metrics.attempt-003.jsonl").exists()


def test_max_steps_beyond_the_data_fails_before_the_first_step(world, tmp_path):
    """trainer.max_steps larger than epochs x steps per epoch: verl would stop at the end of the data with
    exit 0 and a schedule built for steps that never ran; the job stops before training, naming both."""
    run_dir = tmp_path / "run"
    proc = subprocess.run(sft_command(world, run_dir, "sft", "trainer.max_steps=100000"), capture_output=True,
                          text=True, timeout=600)
    log = proc.stdout + proc.stderr + "".join(p.read_text() for p in run_dir.rglob("*.log"))
    assert proc.returncode != 0
    assert re.search(r"trainer.max_steps=100000 is more than the data gives: trainer.epochs=1 x \d+ steps per "
                     r"epoch = \d+ steps", log), log[-3000:]
    assert not list((run_dir / "checkpoints").glob("global_step_*")) if (run_dir / "checkpoints").is_dir() else True


def test_resuming_at_an_epoch_boundary_trains_the_next_epoch(world, tmp_path):
    """verl issue 7401: a checkpoint on an epoch's last batch restored an exhausted data loader, so the next
    epoch yielded 0 batches and the run ended with exit 0, an epoch short. Here: 2 epochs of 8 steps, the
    last checkpoint removed so the run resumes from step 8; it trains steps 9-16 again, on the same data as
    the unbroken run (equal losses: the CPU path is deterministic)."""
    run_dir = tmp_path / "run"
    # keep_state: the finished run's step-8 state is what this test resumes from (a finished run drops it)
    extra = ("trainer.epochs=2", "trainer.max_steps=null", "trainer.save_freq=8", "checkpoints.keep_state=true")
    unbroken = run_sft(world, run_dir, "sft", *extra)
    per_epoch = len(unbroken) // 2
    assert [m["step"] for m in unbroken] == list(range(1, 2 * per_epoch + 1)) and per_epoch == 8
    import shutil

    shutil.rmtree(run_dir / "checkpoints" / f"global_step_{2 * per_epoch}")
    shutil.rmtree(run_dir / "model")
    (run_dir / "checkpoints" / "latest_checkpointed_iteration.txt").write_text(str(per_epoch))
    resumed = run_sft(world, run_dir, "sft", *extra)
    second = [json.loads(line) for line in (run_dir / "metrics.attempt-002.jsonl").read_text().splitlines()]
    assert [m["step"] for m in second] == list(range(per_epoch + 1, 2 * per_epoch + 1))
    assert [m["step"] for m in resumed] == [m["step"] for m in unbroken]
    for before, after in zip(unbroken[per_epoch:], second):
        assert after["data"]["train/loss"] == pytest.approx(before["data"]["train/loss"], rel=1e-6, abs=1e-7)


def _weights(run_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(run_dir / "model" / "model.safetensors")


@pytest.mark.parametrize("method,before,after,key", [
    ("sft", "trainer.lr=5e-4", "trainer.lr=3e-5", "trainer.lr: 0.0005 -> 3e-05"),
    ("curiosft", "method.alpha=1.0", "method.alpha=0.5", "method.alpha: 1.0 -> 0.5"),
    ("sft", "data", "data", "inputs.data: \"sha256:"),
])
def test_a_finished_run_started_under_another_config_or_data_trains_afresh(world, tmp_path, method, before, after,
                                                                          key):
    """Issue 26: a trainer key, a method key or the data file (same path, new content) changed after a run
    finished. The job once found the run complete and re-exported the old weights under the new config;
    now the old folder is kept aside (named on stderr) and the run trains again: new weights, new losses."""
    import shutil

    import pyarrow.parquet as pq

    run_dir = tmp_path / "run"
    # no warmup: step 1 trains at the learning rate, so step 2's loss shows it
    extra = ("trainer.max_steps=2", "trainer.save_freq=2", "trainer.warmup_steps=0")
    if before == "data":
        data = tmp_path / "sft_train.parquet"
        shutil.copy(world / "world" / "data" / "sft_train.parquet", data)
        extra += (f"data.sft_train={data}",)
        first = run_sft(world, run_dir, method, *extra)
        table = pq.read_table(data)
        pq.write_table(table.slice(8), data)
        command_extra = extra
    else:
        first = run_sft(world, run_dir, method, *extra, before)
        command_extra = (*extra, after)
    old_weights = _weights(run_dir)

    proc = subprocess.run(sft_command(world, run_dir, method, *command_extra), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "was made under another config or input (" in proc.stderr and key in proc.stderr, proc.stderr[-2000:]
    (stale,) = tmp_path.glob("run.stale-*")
    assert read_metrics(stale) == first and all(_weights(stale)[n].equal(t) for n, t in old_weights.items())
    again = read_metrics(run_dir)
    assert [m["step"] for m in again] == [1, 2]
    assert len(list(run_dir.glob("metrics.attempt-*.jsonl"))) == 1
    assert [m["data"]["train/loss"] for m in again] != [m["data"]["train/loss"] for m in first]
    new_weights = _weights(run_dir)
    assert any(not new_weights[n].equal(t) for n, t in old_weights.items())


def test_stale_run_error_stops_before_training_naming_the_key(world, tmp_path):
    run_dir = tmp_path / "run"
    run_sft(world, run_dir, "sft", "trainer.max_steps=2", "trainer.save_freq=2")
    proc = subprocess.run(sft_command(world, run_dir, "sft", "trainer.max_steps=2", "trainer.save_freq=2",
                                      "trainer.warmup_steps=1", "stale_run=error"),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert "(trainer.warmup_steps: 5 -> 1); delete or move it, or set stale_run=move_aside" in proc.stderr, \
        proc.stderr[-2000:]
    assert len(list(run_dir.glob("metrics.attempt-*.jsonl"))) == 1 and not list(tmp_path.glob("run.stale-*"))
