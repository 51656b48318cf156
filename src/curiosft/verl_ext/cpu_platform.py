"""A CPU platform for verl 0.9.1, registered through the `verl.plugins` entry point.

verl knows NVIDIA/NPU/ROCm platforms only. This adds "cpu" (gloo collectives, no-op memory and
profiler hooks) and registers verl's FSDP engines for it, so `verl.trainer.sft_trainer` runs on a
laptop or CI box with the same code path as on GPUs. verl probes platforms in registration order and
this one is registered last and only reports itself available when no GPU is present: on a GPU
machine the CUDA platform wins and this plugin changes nothing.
"""

from __future__ import annotations

import contextlib
import shutil
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
        return "CPU"

    def ray_resource_options(self, num_gpus: float) -> dict[str, Any]:
        return {}

    def ray_noset_envvars(self) -> list[str]:
        return []

    def is_ipc_supported(self) -> bool:
        return False

    def cudart(self) -> Any:
        return None


def _register_engines() -> None:
    """verl's FSDP engines are device-agnostic torch code; make them findable for device "cpu"."""
    from verl.workers.engine.base import EngineRegistry
    from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead, FSDPEngineWithValueHead

    for model_type, engine in (("language_model", FSDPEngineWithLMHead), ("value_model", FSDPEngineWithValueHead)):
        registry = EngineRegistry._engines.get(model_type, {})
        if "cpu" not in registry.get("fsdp2", {}):
            EngineRegistry.register(model_type=model_type, backend=["fsdp", "fsdp2"], device="cpu")(engine)


def register_engines() -> None:
    """Called by curiosft's trainers once verl is fully imported (the plugin loads while verl imports)."""
    if not gpu_present():
        _register_engines()
