"""verl's SFT trainer config built from ours, for every experiment and method, checked by verl's own classes."""

from __future__ import annotations

import itertools

import pytest

from curiosft.config import compose_config
from curiosft.verl_ext.sft_config import build_verl_sft_config

SCHEDULE = {"curiosft": "entropy_guided"}


@pytest.mark.parametrize("experiment,method", itertools.product(
    ["smoke", "tiny", "paper", "paper_psft"], ["sft", "psft", "curiosft", "entropy_reg", "dft"]))
def test_verl_config_validates_with_verls_classes(tmp_path, experiment, method):
    from verl.utils.config import omega_conf_to_dataclass

    cfg = compose_config([f"experiment={experiment}", f"method={method}",
                          f"schedule={SCHEDULE.get(method, 'none')}"])
    verl = build_verl_sft_config(cfg, tmp_path, nproc=1)
    engine = omega_conf_to_dataclass(verl.engine)
    optim = omega_conf_to_dataclass(verl.optim)
    checkpoint = omega_conf_to_dataclass(verl.checkpoint)
    assert engine.strategy == "fsdp2" and engine.mixed_precision["reduce_dtype"] == "fp32"
    assert engine.mixed_precision["param_dtype"] == ("fp32" if cfg.model.dtype == "float32" else "bf16")
    assert optim.lr == cfg.trainer.lr and optim.lr_scheduler_type == cfg.trainer.lr_scheduler
    assert optim.lr_warmup_steps == cfg.trainer.warmup_steps and optim.weight_decay == cfg.trainer.weight_decay
    assert optim.clip_grad == cfg.trainer.grad_clip and optim.min_lr_ratio == cfg.trainer.min_lr_ratio
    assert "hf_model" in checkpoint.save_contents
    assert verl.data.train_batch_size == cfg.trainer.global_batch_size
    assert verl.data.micro_batch_size_per_gpu == cfg.trainer.micro_batch_size_per_device
    assert verl.data.max_length == cfg.data.max_prompt_length + cfg.data.max_response_length
    assert verl.model.path == cfg.model.path and verl.data.train_files == cfg.data.sft_train
    assert verl.trainer.resume_mode == "auto" and verl.trainer.total_epochs == cfg.trainer.epochs
    assert verl.trainer.default_local_dir == str(tmp_path / "checkpoints")


def test_paths_with_special_characters_survive_the_override_grammar(tmp_path):
    cfg = compose_config(["experiment=smoke", "paths.results='/data/my results/run=1,a:b'"])
    verl = build_verl_sft_config(cfg, tmp_path)
    assert verl.data.train_files == "/data/my results/run=1,a:b/world/data/sft_train.parquet"
