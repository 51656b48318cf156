"""The work of one workflow job (an SFT, RL or evaluation stage), as a picklable, requeueable callable.

`StageJob(stage, cfg, output, **kwargs)()` runs the stage on the machine it is called on, through the
stage table (curiosft.stages): the declared stage names its entry point, `run_<stage>(cfg, output, **kwargs)`,
imported only when the job runs (the launcher imports no stage). Under SLURM (submitit) it is the submitted
callable: `checkpoint()` (submitit's hook for the timeout/preemption signal) asks for a requeue of the same
job, and the stages resume from their own latest checkpoint (verl's resume_mode=auto for SFT and the verl
RL backend; the local GRPO backend's checkpoints), so the step count continues; a time-out without a new
checkpoint ends it (curiosft.launcher.requeue). Before it runs or is queued, `claim()` fingerprints its
output (curiosft.fingerprint): a run folder made under another config or input is moved aside, never
resumed. Every attempt writes the output's manifest (curiosft.manifest: config, versions, commit, inputs,
fingerprint, hardware) and its wall time; an evaluation of several benchmarks (one model load per
checkpoint) writes one records file and one manifest per benchmark, each naming how many outputs shared the job.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import submitit
from omegaconf import DictConfig, OmegaConf

from curiosft import manifest
from curiosft.errors import ConfigError
from curiosft.stages import Stage, get_stage, job_stage, job_stages

# the stages a job runs (curiosft.stages: each one's entry point, run(cfg, output, **kwargs) -> result)
STAGES = {name: get_stage(name).entry_point for name in job_stages()}


def stage_entry_point(stage: str):
    """The function that runs `stage` (UnknownNameError naming the stages otherwise)."""
    return job_stage(stage).run_entry_point()


class StageJob(submitit.helpers.Checkpointable):
    """One stage of one run; the config travels resolved, so the job sees exactly what was validated.
    Everything that differs between stages (entry point, outputs, manifests, fingerprint, SLURM folder,
    requeue) is the declared stage's (curiosft.stages.Stage): this class names no stage."""

    def __init__(self, stage: str, cfg: DictConfig, output: str | os.PathLike | Sequence[str | os.PathLike],
                 overrides: list[str] = (), **kwargs):
        """stage: a job stage (`curiosft sft|rl|eval`; with kwargs curve=True an evaluation is the eval_curve
        stage); output: the run directory (sft, rl) or the records file (eval) the job produces, or for an
        evaluation of several benchmarks their records files (one per kwargs["benchmark"], in order);
        overrides: the Hydra overrides the config was composed with (recorded in the manifest: the swept keys)."""
        spec = job_stage(stage, curve=bool(kwargs.get("curve")))  # fails here, before anything is submitted
        outputs = [output] if isinstance(output, (str, os.PathLike)) else list(output)
        if not outputs or (len(outputs) > 1 and not spec.many_outputs):
            raise ConfigError(f"a {stage} job writes one output, not {len(outputs)}: {', '.join(map(str, outputs))}")
        self.stage = stage
        self.cfg = OmegaConf.to_container(cfg, resolve=True)
        self.outputs = [str(Path(o).resolve()) for o in outputs]
        self.overrides = list(overrides)
        self.kwargs = kwargs
        self.fingerprints: list[dict] | None = None  # set by claim(), before the job is submitted or run

    @property
    def spec(self) -> Stage:
        """The declared stage this job runs (curiosft.stages)."""
        return job_stage(self.stage, curve=bool(self.kwargs.get("curve")))

    @property
    def output(self) -> str:
        """The run directory (sft, rl), or the first records file (eval)."""
        return self.outputs[0]

    @property
    def manifest_paths(self) -> list[Path]:
        """One manifest per output: in the run directory, or beside each records file."""
        return [self.spec.manifest_path(o) for o in self.outputs]

    def _inputs(self) -> tuple[str, list[tuple[str | None, dict]]]:
        """The checkpoint the outputs belong to, and per output its benchmark (eval) and the input files and
        folders the stage reads for it."""
        return self.spec.job_inputs(self.cfg, self.outputs, self.kwargs)

    def _fingerprints(self) -> list[dict]:
        from curiosft.fingerprint import stage_fingerprint

        return [stage_fingerprint(self.spec.name, self.cfg, inputs) for _, inputs in self._inputs()[1]]

    def claim(self, log=None) -> None:
        """Before the job is submitted or run: its fingerprint (curiosft.fingerprint: the config sections the
        stage reads, its inputs by content); a run folder made under another one is moved aside (or refused,
        stale_run=error), so the job never resumes or re-exports it. Records are written whole at the end."""
        from curiosft.fingerprint import claim_run_dir

        self.fingerprints = self._fingerprints()
        if self.spec.resumable:
            claim_run_dir(self.output, self.fingerprints[0], on_stale=str(self.cfg.get("stale_run", "move_aside")),
                          log=log)

    def check_claim(self) -> None:
        """For a job already queued or running (a re-attach): ConfigError unless it was made under this
        config and these inputs."""
        from curiosft.fingerprint import stale_reason

        self.fingerprints = self._fingerprints()
        if self.spec.resumable and (reason := stale_reason(self.output, self.fingerprints[0])) is not None:
            raise ConfigError(f"a SLURM job already trains {self.output} under another config or input ({reason}); "
                              "cancel it (scancel) and run again")

    @property
    def name(self) -> str:
        """The SLURM job name: stage and the run (and benchmarks) it produces, as squeue shows it (a curve job
        is told apart from the run's final evaluation)."""
        return self.spec.job_name(self.outputs)

    @property
    def slurm_dir(self) -> Path:
        """submitit's logs and pickles, and the submitted job's id (to re-attach after a restart)."""
        return self.spec.slurm_dir(self.outputs)

    def checkpoint(self, *args, **kwargs):
        """submitit's hook for the time-limit signal: requeue unless the time-out count says stop
        (curiosft.launcher.requeue: a time-out without a new checkpoint since the last one ends the job)."""
        from curiosft.launcher.requeue import no_requeue_reason, timed_out

        timeout_min = float(self.cfg["launcher"].get("timeout_min") or 0)
        started = getattr(self, "_attempt_started", None)
        late = started is not None and timeout_min > 0 and timed_out(started, timeout_min)
        reason = no_requeue_reason(self.output if self.spec.resumable else None, timed_out=late,
                                   timeout_min=timeout_min)
        if reason is not None:
            print(f"curiosft: not requeued: {reason}", flush=True)
            return None
        return super().checkpoint(*args, **kwargs)

    def __call__(self):
        started = time.monotonic()
        self._attempt_started = time.time()  # the signal's time-out rule (checkpoint)
        spec = self.spec
        checkpoint, per_output = self._inputs()
        fingerprints = self.fingerprints or [None] * len(per_output)
        if spec.resumable:
            Path(self.output).mkdir(parents=True, exist_ok=True)
        for path, (benchmark, inputs), fingerprint in zip(self.manifest_paths, per_output, fingerprints):
            manifest.start_attempt(path, stage=spec.job_stage, checkpoint=checkpoint, config=self.cfg,
                                   overrides=self.overrides, inputs=inputs,
                                   nodes=int(self.cfg["launcher"].get("nodes") or 1), benchmark=benchmark,
                                   curve=bool(self.kwargs.get("curve")), fingerprint=fingerprint,
                                   outputs=len(self.outputs))
        finished = False
        try:
            output = self.outputs if len(self.outputs) > 1 else self.output
            result = spec.run_entry_point()(OmegaConf.create(self.cfg), output, **self.kwargs)
            finished = True
        finally:
            from curiosft.runs import disk_bytes

            for path, output in zip(self.manifest_paths, self.outputs):
                manifest.finish_attempt(path, started, finished=finished, disk_bytes=disk_bytes(output))
        return str(result) if isinstance(result, Path) else result
