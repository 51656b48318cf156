"""Translate the `rl` config into verl's `ppo_trainer` config (GRPO), and validate it with verl's classes.

The `verl` backend runs `verl.trainer.main_ppo` with exactly this config; the `local` backend reads its
hyper-parameters (clip ratio, loss aggregation, optimiser, mini-batches) from the same composed config,
so both backends train the same objective from one set of keys.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from curiosft.verl_ext.cpu_platform import gpu_present
from curiosft.verl_ext.sft_config import attention_implementation, hydra_override

REWARD_FUNCTION = Path(__file__).resolve().parents[1] / "reward" / "client.py"


def response_length(cfg: DictConfig) -> int:
    return int(cfg.rl.max_response_length or cfg.data.max_response_length)


def ppo_overrides(cfg: DictConfig, *, run_dir: str | Path, model_path: str, reward_url: str,
                  reward_token: str | None = None, n_gpus_per_node: int = 1, nnodes: int = 1) -> list[str]:
    rl, run_dir = cfg.rl, Path(run_dir)
    actor = "actor_rollout_ref.actor"
    values = {
        "algorithm.adv_estimator": "grpo",
        "algorithm.norm_adv_by_std_in_grpo": rl.norm_adv_by_std,
        "algorithm.use_kl_in_reward": False,
        "data.train_files": str(cfg.data.rl_train),
        # no validation during RL: the workflow evaluates the final checkpoint with the eval protocol
        "data.val_files": str(cfg.data.rl_train),
        "data.train_batch_size": rl.batch_size,
        "data.max_prompt_length": cfg.data.max_prompt_length,
        "data.max_response_length": response_length(cfg),
        "data.truncation": "error",
        "data.filter_overlong_prompts": True,
        "data.seed": cfg.seed,
        "actor_rollout_ref.model.path": str(model_path),
        "actor_rollout_ref.model.enable_gradient_checkpointing": cfg.model.gradient_checkpointing,
        "actor_rollout_ref.model.use_remove_padding": True,
        f"{actor}.strategy": "fsdp2",
        f"{actor}.optim.lr": rl.lr,
        f"{actor}.optim.lr_warmup_steps": rl.warmup_steps if rl.warmup_steps else -1,
        f"{actor}.optim.weight_decay": rl.weight_decay,
        f"{actor}.optim.clip_grad": rl.grad_clip,
        f"{actor}.optim.lr_scheduler_type": "constant",
        f"{actor}.ppo_mini_batch_size": rl.mini_batch_size,
        f"{actor}.ppo_micro_batch_size_per_gpu": rl.micro_batch_size_per_device,
        f"{actor}.ppo_epochs": rl.ppo_epochs,
        f"{actor}.clip_ratio": rl.clip_ratio,
        f"{actor}.clip_ratio_low": rl.clip_ratio,
        f"{actor}.clip_ratio_high": rl.clip_ratio,
        f"{actor}.loss_agg_mode": rl.loss_agg_mode,
        f"{actor}.use_kl_loss": rl.kl_loss_coef > 0,
        f"{actor}.kl_loss_coef": rl.kl_loss_coef,
        f"{actor}.entropy_coeff": rl.entropy_coeff,
        f"{actor}.fsdp_config.model_dtype": "fp32",
        f"{actor}.checkpoint.save_contents": ["model", "optimizer", "extra", "hf_model"],
        "actor_rollout_ref.rollout.name": "vllm",
        "actor_rollout_ref.rollout.n": rl.n_rollouts,
        "actor_rollout_ref.rollout.temperature": rl.temperature,
        "actor_rollout_ref.rollout.top_p": rl.top_p,
        # vLLM's "off" (-1), explicit: no top-k unless rl.top_k sets it
        "actor_rollout_ref.rollout.top_k": rl.top_k or -1,
        "actor_rollout_ref.rollout.tensor_model_parallel_size": rl.tensor_parallel_size,
        "actor_rollout_ref.rollout.gpu_memory_utilization": rl.gpu_memory_utilization,
        "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu": rl.micro_batch_size_per_device,
        "actor_rollout_ref.rollout.seed": cfg.seed,
        "reward.custom_reward_function.path": str(REWARD_FUNCTION),
        "reward.custom_reward_function.name": "compute_score",
        "+reward.custom_reward_function.reward_kwargs": {"url": reward_url, "token": reward_token,
                                                         "format": rl.reward.format},
        "reward.reward_manager.name": "naive",
        "trainer.project_name": "curiosft",
        "trainer.experiment_name": f"{cfg.experiment}-rl-{cfg.method.name}-{cfg.schedule.name}-seed{cfg.seed}",
        "trainer.default_local_dir": str(run_dir / "checkpoints"),
        "trainer.total_epochs": rl.epochs,
        "trainer.total_training_steps": rl.max_steps,
        "trainer.save_freq": rl.save_freq,
        "trainer.test_freq": -1,
        "trainer.val_before_train": False,
        "trainer.resume_mode": "auto",
        "trainer.critic_warmup": 0,
        "trainer.logger": list(cfg.trainer.loggers),
        "trainer.n_gpus_per_node": n_gpus_per_node,
        "trainer.nnodes": nnodes,
        "trainer.device": "cuda",
    }
    on_gpu = gpu_present()
    if not on_gpu:
        rollout_tokens = rl.batch_size * rl.n_rollouts * (cfg.data.max_prompt_length + response_length(cfg))
        values |= cpu_settings(n_gpus_per_node * nnodes, kv_cache_gib=cpu_kv_cache_gib(model_path, rollout_tokens))
    overrides = [hydra_override(k, v) for k, v in values.items()]
    overrides.append(f"+actor_rollout_ref.model.override_config={{attn_implementation: "
                     f"{attention_implementation(on_gpu)}}}")
    return overrides


# Ray's logical CPUs on a CPU-only machine: main_ppo's actors (trainer, TransferQueue storage and
# controller, agent loop, reward loop, vLLM server, FSDP worker) each ask for one; two physical cores
# would leave them waiting for ever (a silent hang, measured).
CPU_RAY_CPUS = 16
DEFAULT_CPU_KV_CACHE_GIB = 4


def cpu_kv_cache_gib(model_path: str | Path, tokens: int) -> int:
    """GiB of KV cache for vLLM's CPU engine: `tokens` (a whole rollout batch: prompts x rollouts x (prompt
    + response length)) at bf16, at least 1. Without it vLLM on CPU takes `gpu_memory_utilization` of the
    host's memory (0.6 x 23 GiB here), which the actor, Ray and any other job share: Ray's memory monitor
    then killed the rollout server (SmolLM2-135M, measured) and main_ppo waited for it for ever.
    Per token: 2 (K, V) x layers x KV heads x head size x 2 bytes, from the model's config.json; a model
    without a local one (a hub id) gets DEFAULT_CPU_KV_CACHE_GIB."""
    config_file = Path(model_path) / "config.json"
    if not config_file.is_file():
        return DEFAULT_CPU_KV_CACHE_GIB
    config = json.loads(config_file.read_text())
    text = config.get("text_config", config)
    head_dim = text.get("head_dim") or text["hidden_size"] // text["num_attention_heads"]
    kv_heads = text.get("num_key_value_heads") or text["num_attention_heads"]
    per_token = 2 * int(text["num_hidden_layers"]) * int(kv_heads) * int(head_dim) * 2
    return max(1, math.ceil(per_token * tokens / 2**30))


def cpu_settings(n_devices: int, kv_cache_gib: int = 1) -> dict:
    """What main_ppo needs on a machine without GPUs (../docs/training.md "RL on CPU"), on top of the
    platform plugin (curiosft.verl_ext.cpu_platform): the CPU as `n_devices` logical Ray GPUs, enough
    logical CPUs, one TransferQueue storage unit / agent-loop worker / reward worker instead of 8, no
    dataloader processes, padded micro-batches, no vLLM sleep mode (vLLM's CPU platform has none), and
    vLLM's KV cache sized to the rollouts (`kv_cache_gib`: cpu_kv_cache_gib). On GPUs none of this is set:
    the config is what verl's defaults and ppo_overrides make it."""
    return {
        "trainer.device": "cpu",
        "ray_kwargs.ray_init.num_cpus": max(CPU_RAY_CPUS, os.cpu_count() or 1),
        "+ray_kwargs.ray_init.num_gpus": n_devices,
        "transfer_queue.backend.SimpleStorage.num_data_storage_units": 1,
        "actor_rollout_ref.rollout.agent.num_workers": 1,
        "reward.num_workers": 1,
        "data.dataloader_num_workers": 0,
        # padded micro-batches: packed ones (verl's remove-padding path) need flash-attn's variable-length
        # kernel, which the CPU lacks; transformers' sdpa then attends over the whole packed row under a
        # block mask, (sequences x length)^2 work instead of sequences x length^2
        "actor_rollout_ref.model.use_remove_padding": False,
        "+actor_rollout_ref.rollout.enable_sleep_mode": False,
        "actor_rollout_ref.rollout.free_cache_engine": False,
        # read by vLLM's CPU platform in the rollout server's process (Ray passes runtime_env to every worker)
        "+ray_kwargs.ray_init.runtime_env.env_vars.VLLM_CPU_KVCACHE_SPACE": str(kv_cache_gib),
    }


def build_verl_ppo_config(cfg: DictConfig, **kwargs) -> DictConfig:
    """verl's `ppo_trainer` config for this RL run (see ppo_overrides for the arguments)."""
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_module(config_module="verl.trainer.config", version_base=None):
        return compose(config_name="ppo_trainer", overrides=ppo_overrides(cfg, **kwargs))


def validate_verl_ppo_config(verl_cfg: DictConfig):
    """Run verl's own checks: what main_ppo validates before it starts (batch sizes against the GPU count,
    actor / rollout / algorithm / reward dataclasses), and that the reward function loads. Returns the
    actor config dataclass (what the local backend's policy loss reads)."""
    from verl.trainer.ppo.reward import get_custom_reward_fn, resolve_reward_manager_cls
    from verl.utils.config import omega_conf_to_dataclass, validate_config

    validate_config(verl_cfg, use_reference_policy=False, use_critic=False)
    for node in (verl_cfg.actor_rollout_ref.rollout, verl_cfg.algorithm, verl_cfg.actor_rollout_ref.actor.optim,
                 verl_cfg.actor_rollout_ref.model):
        omega_conf_to_dataclass(node)
    # verl resolves the reward manager from the DictConfig (its RewardManagerConfig dataclass cannot be
    # instantiated on its own in 0.9.1: its __post_init__ calls a missing super().__post_init__)
    resolve_reward_manager_cls(verl_cfg)
    if get_custom_reward_fn(verl_cfg) is None:
        raise ValueError("verl found no reward function in reward.custom_reward_function")
    return omega_conf_to_dataclass(verl_cfg.actor_rollout_ref.actor)
