"""Where a job's work runs: `local` (this process, on this machine) or `slurm` (a submitit job).

    launch(cfg, StageJob("sft", cfg, run_dir))      # what `curiosft sft|rl|eval` do

The same `StageJob` runs in both cases; on SLURM it is pickled, run on the allocated node(s), requeued
on the timeout/preemption signal, and resumes from the stage's last checkpoint.
"""

from __future__ import annotations

from curiosft.launcher.jobs import STAGES, StageJob

__all__ = ["STAGES", "StageJob", "launch"]


def launch(cfg, job: StageJob):
    """Run `job` where cfg.launcher says; returns its result (blocks until the job ends). Every stage
    runs its preflight checks before its first step; on SLURM they also run here, so a run that cannot
    succeed is refused before it is queued. Before the job runs or is queued it claims its output
    (StageJob.claim: a run folder made under another config or input is moved aside, never resumed)."""
    if cfg.launcher.name == "slurm":
        from curiosft.launcher.slurm import SlurmLauncher

        job.spec.run_preflight(cfg, **job.kwargs)
        return SlurmLauncher(cfg.launcher).run(job)
    job.claim()
    return job()
