"""The `launcher` group: where a stage's processes run (conf/launcher/*.yaml; site settings in `local`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from curiosft.errors import require


@dataclass
class LauncherConfig:
    name: str = MISSING


@dataclass
class LocalLauncher(LauncherConfig):
    name: str = "local"
    # processes per job (torchrun --nproc-per-node); on CPU keep processes x threads <= cores
    nproc_per_node: int = MISSING
    threads_per_process: int = MISSING

    def __post_init__(self) -> None:
        require(self.nproc_per_node >= 1, f"launcher.nproc_per_node={self.nproc_per_node} must be >= 1")
        require(self.threads_per_process >= 1, f"launcher.threads_per_process={self.threads_per_process} must be >= 1")


@dataclass
class SlurmLauncher(LauncherConfig):
    name: str = "slurm"
    partition: Optional[str] = None
    account: Optional[str] = None
    qos: Optional[str] = None
    nodes: int = MISSING
    gpus_per_node: int = MISSING
    cpus_per_task: int = MISSING
    mem_gb: int = MISSING
    timeout_min: int = MISSING
    constraint: Optional[str] = None
    # torch threads per process; None: the task's CPUs shared among its processes (curiosft.topology)
    threads_per_process: Optional[int] = None
    # the time-limit signal's lead (sbatch --signal=USR2@N, submitit's signal_delay_s): time for the step in
    # progress, its checkpoint save and the requeue (curiosft.preemption); 30 s of it are kept for the requeue
    signal_delay_s: int = 300
    # extra sbatch flags, e.g. {"exclusive": ""}
    additional_parameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require(self.nodes >= 1, f"launcher.nodes={self.nodes} must be >= 1")
        require(self.gpus_per_node >= 0, f"launcher.gpus_per_node={self.gpus_per_node} must be >= 0")
        require(self.cpus_per_task >= 1, f"launcher.cpus_per_task={self.cpus_per_task} must be >= 1")
        require(self.threads_per_process is None or 1 <= self.threads_per_process <= self.cpus_per_task,
                f"launcher.threads_per_process={self.threads_per_process} must be between 1 and "
                f"launcher.cpus_per_task={self.cpus_per_task} (or null: the task's CPUs shared among its processes)")
        require(self.mem_gb >= 1, f"launcher.mem_gb={self.mem_gb} must be >= 1")
        require(self.timeout_min >= 1, f"launcher.timeout_min={self.timeout_min} must be >= 1")
        require(60 <= self.signal_delay_s < self.timeout_min * 60,
                f"launcher.signal_delay_s={self.signal_delay_s} must be at least 60 s (a step, a checkpoint save "
                f"and the requeue happen in it) and less than launcher.timeout_min={self.timeout_min} minutes")
