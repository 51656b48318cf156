"""One RL job: start (or reach) the reward server, train with the configured backend, export the model.

Run directory layout (results/rl/method~M/schedule~S/seed~N/, next to the SFT run it starts from):
    config.yaml          the composed curiosft config (resolved)
    verl_config.yaml     verl's ppo_trainer config (the reward server URL of the latest attempt)
    checkpoints/         global_step_N/actor/huggingface (+ optimizer state); a restart resumes
    metrics.attempt-NNN.jsonl, metrics.jsonl
                         per attempt, and merged: one line per step, curiosft metric names (curiosft.rl.metrics)
    reward_server.log    the reward server started for the job
    model/               the final model, Hugging Face format (what evaluation reads)
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from curiosft.errors import ConfigError, MissingInputError, StageFailed, StageStopped
from curiosft.io import atomic_path, write_json
from curiosft.preemption import StopRequest, run_until_stopped, stop_at_a_safe_point, stop_grace_s
from curiosft.rl.metrics import curiosft_metrics, flat_reward_report, metrics_line
from curiosft.runid import RunId
from curiosft.runs import (
    HF_SUBDIRS,
    METRICS,
    export_model,
    finish_run,
    is_complete,
    merge_metrics,
    next_attempt,
)
from curiosft.topology import job_topology

RL_MODEL_SUBDIR = HF_SUBDIRS["rl"]


def prepare_run(cfg: DictConfig, run_dir: str | Path, *, sft_model: str, reward_url: str,
                reward_token: str | None) -> tuple[Path, DictConfig, object]:
    """Write config.yaml and verl_config.yaml, validated by verl's classes; returns (run_dir, verl config,
    verl's actor config dataclass)."""
    from curiosft.verl_ext.rl_config import build_verl_ppo_config, validate_verl_ppo_config

    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    resolved = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    topo = job_topology(cfg.launcher)
    verl_cfg = build_verl_ppo_config(resolved, run_dir=run_dir, model_path=sft_model, reward_url=reward_url,
                                     reward_token=reward_token, n_gpus_per_node=topo.nproc_per_node,
                                     nnodes=topo.nnodes)
    actor_cfg = validate_verl_ppo_config(verl_cfg)
    for name, node in (("config.yaml", resolved), ("verl_config.yaml", verl_cfg)):
        with atomic_path(run_dir / name) as tmp:
            OmegaConf.save(node, tmp, resolve=False)
    return run_dir, verl_cfg, actor_cfg


def run_rl(cfg: DictConfig, run_dir: str | Path, *, sft_model: str, progress: bool = True) -> Path:
    """Train GRPO from `sft_model` into run_dir; returns the exported model folder. Re-running after an
    interruption resumes from the latest checkpoint; re-running a finished run only re-exports."""
    from curiosft.launcher.ray_cluster import ray_cluster

    if not Path(sft_model, "config.json").is_file():
        raise MissingInputError(f"no Hugging Face model at {sft_model} (config.json missing); run its SFT job first")
    from curiosft.preflight import preflight

    preflight("rl", cfg, sft_model=sft_model)
    topo = job_topology(cfg.launcher)
    if topo.nnodes > 1:
        if cfg.rl.backend != "verl":
            raise ConfigError(f"rl.backend={cfg.rl.backend!r} runs on one node; use rl.backend=verl for "
                             f"launcher.nodes={topo.nnodes}")
        with ray_cluster(topo, int(cfg.launcher.gpus_per_node)) as head:
            if not head:
                return Path(run_dir) / "model"
            return _run_rl(cfg, run_dir, sft_model=sft_model, host=socket.gethostname(), progress=progress)
    return _run_rl(cfg, run_dir, sft_model=sft_model, host="127.0.0.1", progress=progress)


def _run_rl(cfg: DictConfig, run_dir, *, sft_model: str, host: str, progress: bool) -> Path:
    """The head's part: the reward server (on loopback; on the node's address with a token when reward
    workers run on other nodes), training, export. On the time-limit signal (curiosft.preemption) training
    stops, then the reward server, then the job requeues (or StageStopped)."""
    from curiosft.reward.lifecycle import reward_service

    reward = cfg.rl.reward
    token = reward.token or (None if reward.url else secrets.token_urlsafe(24))
    run_dir = Path(run_dir).resolve()
    scoring = cfg.scoring
    with stop_at_a_safe_point() as stop, reward_service(
            url=reward.url, workers=int(reward.workers), timeout_s=float(scoring.timeout_s),
            grader=str(scoring.grader), token=token, host=host, log=run_dir / "reward_server.log") as url:
        run_dir, verl_cfg, actor_cfg = prepare_run(cfg, run_dir, sft_model=sft_model, reward_url=url,
                                                   reward_token=token)
        if is_complete(run_dir):
            # a finished run is never trained further (verl's PPO trainer would train, save and export one
            # more step: it has no completion guard, verl PR 6232); its attempts are merged anew
            merge_metrics(run_dir, RunId.of_config("rl", cfg),
                          rename=curiosft_metrics if cfg.rl.backend == "verl" else None)
        elif cfg.rl.backend == "local":
            _train_local(cfg, actor_cfg, run_dir, sft_model=sft_model, url=url, token=token, progress=progress,
                         stop=stop)
        else:
            _train_verl(cfg, run_dir, sft_model=sft_model, stop=stop)
    if (warning := flat_reward_report(run_dir / METRICS)) is not None:
        print(f"curiosft: warning: {run_dir}: {warning}", flush=True)
    model = export_model(run_dir, RL_MODEL_SUBDIR)
    finish_run(run_dir, RL_MODEL_SUBDIR, cfg.checkpoints, log=lambda m: print(m, flush=True))
    return model


def _train_local(cfg, actor_cfg, run_dir: Path, *, sft_model: str, url: str, token: str | None, progress: bool,
                 stop: StopRequest) -> None:
    from curiosft.reward.client import RewardClient
    from curiosft.rl.local import LocalGRPO

    client = RewardClient(url, token=token)
    attempt = next_attempt(run_dir)

    def log(step: int, metrics: dict) -> None:
        # appended line by line: a crash loses at most the line being written
        with open(attempt, "a") as f:
            f.write(metrics_line(step, metrics))

    trainer = LocalGRPO(cfg, actor_cfg, model_path=sft_model, run_dir=run_dir,
                        score=lambda items: client.score(items, cfg.rl.reward.format), log=log)
    write_json(run_dir / "progress.json", {"total_training_steps": trainer.total_steps})
    try:
        trainer.fit(progress=progress, stop=stop)
    finally:
        merge_metrics(run_dir, RunId.of_config("rl", cfg))
    if trainer.step < trainer.total_steps:
        raise StageStopped(f"local GRPO stopped at step {trainer.step} of {trainer.total_steps} (checkpoint saved)")


def _train_verl(cfg, run_dir: Path, *, sft_model: str, stop: StopRequest) -> None:
    """verl.trainer.main_ppo on the saved config (Ray, FSDP actor, vLLM rollout; GPUs). verl's PPO trainer
    has no point to stop at: on the time-limit signal it gets SIGTERM at once, and the run resumes from the
    last checkpoint its tracker names (the steps since are trained again)."""
    from transformers import AutoTokenizer

    from curiosft.rl.prompts import load_prompts, total_steps
    from curiosft.vllm_env import verl_rl_python

    # the exact count (prompts over data.max_prompt_length dropped, as verl's filter_overlong_prompts does)
    prompts = load_prompts(cfg.data.rl_train, AutoTokenizer.from_pretrained(sft_model),
                           int(cfg.data.max_prompt_length))
    steps = total_steps(len(prompts), int(cfg.rl.batch_size), int(cfg.rl.epochs), cfg.rl.max_steps)
    # the run's length, as the local backend and the SFT trainer write it: a finished run is not trained again
    write_json(run_dir / "progress.json", {"total_training_steps": steps})
    env = dict(os.environ, VERL_FILE_LOGGER_PATH=str(next_attempt(run_dir)))
    # on a machine without GPUs main_ppo runs in the vLLM environment (curiosft.vllm_env)
    python = verl_rl_python(sys.executable)
    # verl.trainer.main_ppo, ending with this job however it ends (curiosft.verl_ext.main_ppo)
    cmd = [python, "-m", "curiosft.verl_ext.main_ppo", f"--config-path={run_dir}", "--config-name=verl_config"]
    returncode = run_until_stopped(cmd, env, stop=stop, grace_s=stop_grace_s(cfg.launcher))
    merge_metrics(run_dir, RunId.of_config("rl", cfg), rename=curiosft_metrics)
    if stop.requested:
        raise StageStopped(f"verl main_ppo stopped by the time-limit signal (exit {returncode})")
    if returncode != 0:
        raise StageFailed(f"verl main_ppo failed (exit {returncode}): {' '.join(cmd)}")
