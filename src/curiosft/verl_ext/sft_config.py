"""Translate a composed curiosft config into verl's own SFT trainer config (`sft_trainer_engine`).

verl's config is composed from its packaged YAML (`pkg://verl.trainer.config`) with overrides, so a key
verl does not know fails here, not on a cluster node.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from curiosft.verl_ext.cpu_platform import gpu_present


def hydra_literal(value) -> str:
    """A value in Hydra's override grammar (strings quoted, so paths with ':' or '=' survive)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict) or OmegaConf.is_dict(value):
        return "{" + ",".join(f"{k}:{hydra_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)) or OmegaConf.is_list(value):
        return "[" + ",".join(hydra_literal(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def hydra_override(key: str, value) -> str:
    return f"{key}={hydra_literal(value)}"


def verl_overrides(cfg: DictConfig, run_dir: str | Path, *, nproc: int,
                   train_file: str | Path | None = None) -> list[str]:
    """train_file: the parquet to train on (default data.sft_train; see curiosft.preflight.check_sft_data)."""
    run_dir = Path(run_dir)
    on_gpu = gpu_present()
    fp32 = cfg.model.dtype == "float32"
    t = cfg.trainer
    values = {
        "data.train_files": str(train_file or cfg.data.sft_train),
        "data.messages_key": "messages",
        "data.train_batch_size": t.global_batch_size,
        "data.micro_batch_size_per_gpu": t.micro_batch_size_per_device,
        "data.use_dynamic_bsz": False,
        "data.pad_mode": "no_padding",
        "data.max_length": cfg.data.max_prompt_length + cfg.data.max_response_length,
        "data.truncation": "error",
        "data.num_workers": 2 if on_gpu else 0,
        "model.path": str(cfg.model.path),
        "model.enable_gradient_checkpointing": cfg.model.gradient_checkpointing,
        "model.use_remove_padding": True,
        "engine.strategy": "fsdp2",
        "engine.model_dtype": "fp32",
        # the compiled entropy kernel only pays off on GPUs
        "engine.use_torch_compile": on_gpu,
        "engine.seed": cfg.seed,
        "optim.lr": t.lr,
        "optim.lr_scheduler_type": t.lr_scheduler,
        "optim.lr_warmup_steps": t.warmup_steps,
        "optim.min_lr_ratio": t.min_lr_ratio,
        "optim.weight_decay": t.weight_decay,
        "optim.clip_grad": t.grad_clip,
        "trainer.default_local_dir": str(run_dir / "checkpoints"),
        "trainer.project_name": "curiosft",
        "trainer.experiment_name": f"{cfg.experiment}-{cfg.method.name}-{cfg.schedule.name}-seed{cfg.seed}",
        "trainer.total_epochs": t.epochs,
        "trainer.total_training_steps": t.max_steps,
        "trainer.logger": list(t.loggers),
        "trainer.seed": cfg.seed,
        "trainer.save_freq": t.save_freq,
        "trainer.test_freq": -1,
        "trainer.resume_mode": "auto",
        "trainer.device": "cuda" if on_gpu else "cpu",
        "trainer.n_gpus_per_node": nproc,
        "checkpoint.save_contents": ["model", "optimizer", "extra", "hf_model"],
    }
    overrides = [hydra_override(k, v) for k, v in values.items()]
    # fp32 compute (bf16 autocast is ~20x slower on CPU); bf16 mixed precision otherwise
    param_dtype = "fp32" if fp32 else "bf16"
    overrides.append(f"+engine.mixed_precision={{param_dtype: {param_dtype}, reduce_dtype: fp32, buffer_dtype: fp32}}")
    overrides.append(f"+model.override_config={{attn_implementation: {attention_implementation(on_gpu)}}}")
    return overrides


def attention_implementation(on_gpu: bool) -> str:
    """flash-attention 2 on GPUs where it is installed (verl[vllm] does not bring it), else SDPA."""
    return "flash_attention_2" if on_gpu and importlib.util.find_spec("flash_attn") else "sdpa"


def build_verl_sft_config(cfg: DictConfig, run_dir: str | Path, *, nproc: int = 1,
                          train_file: str | Path | None = None) -> DictConfig:
    """verl's SFT trainer config for this run (validated by verl's own config classes in the trainer)."""
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_module(config_module="verl.trainer.config", version_base=None):
        return compose(config_name="sft_trainer_engine", overrides=verl_overrides(cfg, run_dir, nproc=nproc,
                                                                                   train_file=train_file))
