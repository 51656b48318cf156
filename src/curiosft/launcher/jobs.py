"""The work of one workflow job (an SFT, RL or evaluation stage), as a picklable, requeueable callable.

`StageJob(stage, cfg, run_dir, **kwargs)()` runs the stage on the machine it is called on. Under SLURM
(submitit) it is the submitted callable: `checkpoint()` (submitit's hook for the timeout/preemption
signal) asks for a requeue of the same job, and the stages resume from their own latest checkpoint
(verl's resume_mode=auto for SFT and the verl RL backend; the local GRPO backend's checkpoints), so the
step count continues. `topology()` says how many processes and nodes the stage may use where it runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import submitit
from omegaconf import DictConfig, OmegaConf

STAGES = ("sft", "rl", "eval")


@dataclass(frozen=True)
class Topology:
    """Processes per node, torch threads per process, nodes, this node's rank and the first node's address."""

    nproc_per_node: int = 1
    threads_per_process: int = 1
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str | None = None


def topology(cfg: DictConfig) -> Topology:
    """Local launcher: its own settings. Inside a SLURM job: one process per GPU (or one on a CPU node),
    the task's CPUs shared among them, nodes and ranks from the job's environment."""
    launcher = cfg.launcher
    if launcher.name != "slurm":
        return Topology(int(launcher.nproc_per_node), int(launcher.threads_per_process))
    gpus = int(launcher.gpus_per_node)
    nproc = max(1, gpus)
    threads = max(1, int(launcher.cpus_per_task) // nproc)
    try:
        env = submitit.JobEnvironment()
    except RuntimeError:  # not inside a submitit job (e.g. composing on the login node)
        return Topology(nproc, threads, int(launcher.nodes))
    return Topology(nproc, threads, env.num_nodes, env.node, env.hostnames[0] if env.hostnames else None)


class StageJob(submitit.helpers.Checkpointable):
    """One stage of one run; the config travels resolved, so the job sees exactly what was validated."""

    def __init__(self, stage: str, cfg: DictConfig, output: str | os.PathLike, **kwargs):
        """output: the run directory (sft, rl) or the records file (eval) the job produces."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
        self.stage = stage
        self.cfg = OmegaConf.to_container(cfg, resolve=True)
        self.output = str(Path(output).resolve())
        self.kwargs = kwargs

    @property
    def name(self) -> str:
        """The SLURM job name: stage and the run (and benchmark) it produces, as squeue shows it."""
        parts = Path(self.output).with_suffix("").parts
        return f"curiosft-{self.stage}:" + "/".join(parts[-4:] if self.stage == "eval" else parts[-3:])

    @property
    def slurm_dir(self) -> Path:
        """submitit's logs and pickles, and the submitted job's id (to re-attach after a restart)."""
        output = Path(self.output)
        return output / "slurm" if self.stage != "eval" else output.parent / "slurm" / output.stem

    def __call__(self):
        cfg = OmegaConf.create(self.cfg)
        if self.stage == "sft":
            from curiosft.sft import run_sft

            return str(run_sft(cfg, self.output))
        if self.stage == "rl":
            from curiosft.rl.run import run_rl

            return str(run_rl(cfg, self.output, **self.kwargs))
        from curiosft.config.schema import EvalConfig
        from curiosft.evaluation.run import evaluate_checkpoint

        topo = topology(cfg)
        kwargs = dict(self.kwargs)
        threads = kwargs.pop("threads", None) or topo.threads_per_process * topo.nproc_per_node
        # the typed eval section (samples_for, checks) from the plain config the job carries
        eval_cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(EvalConfig), cfg.eval))
        return evaluate_checkpoint(eval_cfg, out=self.output, threads=threads, **kwargs)
