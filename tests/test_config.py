"""The Hydra config tree: every option composes, bad input fails with a message naming it."""

from __future__ import annotations

import itertools

import pytest
from omegaconf import OmegaConf

from curiosft.config import ConfigError, compose_config, group_options
from curiosft.config.schema import schedule_schemas
from curiosft.methods import method_names

GROUPS = ["method", "schedule", "model", "data", "experiment", "launcher"]


def test_groups_have_the_required_options():
    assert set(group_options("method")) == {"sft", "psft", "curiosft", "entropy_reg", "dft", "eaft", "asft"}
    assert {"entropy_guided", "fixed", "annealed"} <= set(group_options("schedule"))
    assert {"tiny", "qwen2_5_math_7b", "qwen2_5_math_1_5b"} <= set(group_options("model"))
    assert {"tiny", "openr1_math_46k", "curiosft_data", "limo"} <= set(group_options("data"))
    assert {"tiny", "paper", "smoke"} <= set(group_options("experiment"))
    assert set(group_options("launcher")) == {"local", "slurm"}
    assert set(group_options("protocol")) == {"qwen25_math_cot", "luffy", "dft", "psft", "curiosft_release"}


def test_every_schema_has_a_conf_option_and_back():
    assert set(group_options("method")) == set(method_names())
    assert set(group_options("schedule")) == set(schedule_schemas())


def test_every_experiment_is_valid_for_every_method():
    for experiment in group_options("experiment"):
        for method in method_names():
            schedule = "entropy_guided" if method == "curiosft" else "none"
            compose_config([f"experiment={experiment}", f"method={method}", f"schedule={schedule}"])


@pytest.mark.parametrize("group", ["model", "data", "experiment", "launcher"])
def test_every_option_composes(group):
    for option in group_options(group):
        cfg = compose_config([f"{group}={option}"])
        if group == "experiment":
            assert cfg.experiment == option
        else:
            assert cfg[group].name == option


@pytest.mark.parametrize("method,schedule", itertools.product(method_names(), ["entropy_guided", "fixed", "annealed"]))
def test_every_method_schedule_pair_composes(method, schedule):
    cfg = compose_config([f"method={method}", f"schedule={schedule}"])
    assert cfg.method.name == method
    # methods without a teacher never carry a schedule
    assert cfg.schedule.name == (schedule if cfg.method.uses_teacher else "none")


def test_composed_nodes_are_typed_by_their_schema():
    cfg = compose_config(["method=psft"])
    assert OmegaConf.get_type(cfg.method).__name__ == "PSFTConfig"
    obj = OmegaConf.to_object(cfg)
    assert obj.method.clip_high == 0.28


@pytest.mark.parametrize(
    "overrides,fragment",
    [
        (["method=psft", "method.clip=0.3"], "Key 'clip' not in 'PSFTConfig'"),
        (["sed=1"], "Key 'sed' not in 'Config'"),
        (["trainer.lrr=1"], "Key 'lrr' not in 'TrainerConfig'"),
        (["method=curio"], "Could not find 'method/curio'"),
        (["method=psft", "method.clip_low=-1"], "method.clip_low=-1.0"),
        (["method=curiosft", "schedule=none"], "needs a schedule"),
        (["method=curiosft", "schedule=entropy_guided", "schedule.tau_min=2.0"], "tau range [2.0, 1.5] is empty"),
        (["method=curiosft", "schedule=fixed", "schedule.tau=abc"], "could not be converted to Float"),
        (["trainer.lr_scheduler=linear"], "unknown trainer.lr_scheduler 'linear'; choose one of cosine, constant"),
        (["world.model.hidden_size=100", "world.model.num_heads=3"], "divisible by num_heads"),
        (["method=psft", "trainer.micro_batch_size_per_device=8"],
         "gives 4 sequences per mini-batch and rank, not a multiple of trainer.micro_batch_size_per_device=8"),
        (["trainer.global_batch_size=30", "launcher.nproc_per_node=4"], "does not split over 4 data-parallel"),
        (["eval.select=worst"], "eval.select='worst' must be `last` or `best:<benchmark>`"),
        (["eval.select=best:tiny_id", "eval.curve.every=0"], "set eval.curve.every=1"),
        (["eval.select=best:gpqa_diamond"], "'gpqa_diamond' is neither a split (id, ood) nor one of the curve"),
        (["eval.curve.every=-1"], "eval.curve.every=-1 must be >= 0"),
        (["eval.entropy_top_k=0"], "eval.entropy_top_k=0 must be >= 1"),
    ],
)
def test_bad_input_fails_with_a_message_naming_it(overrides, fragment):
    with pytest.raises(ConfigError) as err:
        compose_config(overrides)
    assert fragment in str(err.value)


def test_paper_experiment_uses_the_released_hyperparameters():
    """docs/methods.md: released SFT hparams of CurioSFT, PSFT clip range and K, CurioSFT teacher and schedule."""
    cfg = compose_config(["experiment=paper", "method=curiosft", "schedule=entropy_guided"])
    t = cfg.trainer
    assert (t.lr, t.lr_scheduler, t.warmup_steps, t.min_lr_ratio) == (1e-5, "cosine", 60, 1e-4)
    assert (t.weight_decay, t.grad_clip, t.global_batch_size, t.epochs) == (0.01, 1.0, 256, 3)
    assert (cfg.data.max_prompt_length, cfg.data.max_response_length) == (1024, 8192)
    assert cfg.model.name == "qwen2_5_math_7b" and cfg.launcher.name == "slurm"
    assert (cfg.method.alpha, cfg.method.sync_every, cfg.method.sync_mix) == (1.0, 5, 0.99)
    s = cfg.schedule
    assert (s.tau_min, s.tau_max, s.top_k, s.b, s.c, s.h0, s.eps_h, s.iters) == (1.1, 1.5, 512, 0.5, 2.0, 1.2, 0.03, 20)
    psft = compose_config(["experiment=paper", "method=psft"]).method
    assert (psft.clip_low, psft.clip_high, psft.num_mini_batches) == (0.2, 0.28, 8)
    release = compose_config(["experiment=paper_psft", "method=psft"]).trainer
    assert (release.lr, release.lr_scheduler, release.warmup_steps, release.weight_decay) == (1e-6, "constant", 10, 0.1)
    assert release.global_batch_size == 64


def test_tiny_is_the_default_experiment_and_resolves_paths():
    cfg = compose_config([])
    assert cfg.experiment == "tiny" and cfg.model.name == "tiny" and cfg.data.name == "tiny"
    assert cfg.model.path == "results/world/model"
    assert compose_config(["paths.results=/scratch/x"]).data.sft_train == "/scratch/x/world/data/sft_train.parquet"


def test_cli_prints_config_and_reports_bad_keys(python, repo):
    import subprocess

    ok = subprocess.run([python, "-m", "curiosft.cli", "config", "method=psft"], capture_output=True, text=True)
    assert ok.returncode == 0 and "clip_high: 0.28" in ok.stdout
    bad = subprocess.run([python, "-m", "curiosft.cli", "config", "method.clpi=1"], capture_output=True, text=True)
    assert bad.returncode != 0 and "Key 'clpi' not in 'SFTConfig'" in bad.stderr
