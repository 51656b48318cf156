"""How many processes a stage runs, and where: one computation for the config checks, the launcher and the workflow.

    planned_topology(cfg.launcher)   what the config asks for (login node, workflow start-up, batch checks)
    job_topology(cfg.launcher)       the same inside a running job, with the nodes and ranks SLURM gave it

Local launcher: `nproc_per_node` torchrun processes of `threads_per_process` torch threads on this machine.
SLURM: one process per GPU on each of `nodes` nodes (one process on a CPU-only node), the task's CPUs
shared among them (or `threads_per_process` each, when set). A leaf module: plain Python (submitit is imported only inside a job).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Topology:
    """Processes per node, torch threads per process, nodes, this node's rank and the first node's address."""

    nproc_per_node: int = 1
    threads_per_process: int = 1
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str | None = None

    @property
    def world_size(self) -> int:
        """Training processes of the job over all nodes: the data-parallel size."""
        return self.nproc_per_node * self.nnodes


def planned_topology(launcher) -> Topology:
    """The topology the launcher config asks for (no job needed)."""
    if launcher.name != "slurm":
        return Topology(int(launcher.nproc_per_node), int(launcher.threads_per_process))
    nproc = max(1, int(launcher.gpus_per_node))
    threads = getattr(launcher, "threads_per_process", None) or max(1, int(launcher.cpus_per_task) // nproc)
    return Topology(nproc, int(threads), int(launcher.nodes))


def job_topology(launcher) -> Topology:
    """Inside a SLURM job: the planned processes, with the job's node count, this node's rank and the
    first node's address (submitit's JobEnvironment); elsewhere the planned topology."""
    planned = planned_topology(launcher)
    if launcher.name != "slurm":
        return planned
    import submitit

    try:
        env = submitit.JobEnvironment()
    except RuntimeError:  # not inside a submitit job (e.g. composing on the login node)
        return planned
    return Topology(planned.nproc_per_node, planned.threads_per_process, env.num_nodes, env.node,
                    env.hostnames[0] if env.hostnames else None)


def job_gpus(launcher) -> int:
    """GPUs one training job holds over all its nodes (0 for the local launcher)."""
    return int(launcher.nodes) * int(launcher.gpus_per_node) if launcher.name == "slurm" else 0


def eval_request(launcher, gpus: int) -> dict[str, int]:
    """An evaluation job's SLURM request (launcher.* keys): one node, `gpus` GPUs (one per vLLM tensor-parallel
    rank), and that share of a node's CPUs and memory: launcher.cpus_per_task and launcher.mem_gb times
    gpus / launcher.gpus_per_node, rounded up (paper: 8 GPUs, 64 CPUs, 512 GB -> 1 GPU, 8 CPUs, 64 GB), so a
    node holds as many evaluation jobs as it has GPUs. Without GPUs the training request's CPUs and memory."""
    per_node = int(launcher.gpus_per_node)
    share = gpus / per_node if gpus and per_node else 1.0
    return {"nodes": 1, "gpus_per_node": int(gpus), "cpus_per_task": max(1, math.ceil(int(launcher.cpus_per_task) * share)),
            "mem_gb": max(1, math.ceil(int(launcher.mem_gb) * share))}
