"""One SFT job: write its configs, run verl's trainer under torchrun, export the final model and metrics.

Run directory layout (results/sft/method~M/schedule~S/seed~N/):
    config.yaml          the composed curiosft config (resolved)
    data_lengths.json    the SFT rows' token lengths (distribution, rows over the limit; curiosft.preflight)
    sft_train.kept.parquet  with data.overlong=drop and rows over the limit: the rows trained on
    verl_config.yaml     verl's trainer config built from it
    checkpoints/         verl checkpoints (resume_mode=auto continues from the latest)
    metrics.jsonl        one line per step (all attempts merged; a resumed run continues the steps)
    model/               the final model, Hugging Face format (what RL and evaluation read)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from curiosft.errors import StageFailed, StageStopped
from curiosft.io import atomic_path
from curiosft.preemption import run_until_stopped, stop_at_a_safe_point, stop_grace_s
from curiosft.runid import RunId
from curiosft.runs import (
    HF_SUBDIRS,
    export_model,
    finish_run,
    is_complete,
    latest_checkpoint,
    merge_metrics,
    next_attempt,
    planned_steps,
)
from curiosft.topology import job_topology


def prepare_run(cfg: DictConfig, run_dir: str | Path, *, nproc: int = 1) -> Path:
    """Check the run (curiosft.preflight: context length, every SFT row's token length), then write
    config.yaml and verl_config.yaml into run_dir (validating both)."""
    from curiosft.preflight import (
        check_context_length,
        check_model_path,
        check_sft_data,
        settings_warnings,
        sft_token_limit,
    )
    from curiosft.verl_ext.sft_config import build_verl_sft_config

    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    resolved = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    check_model_path(resolved.model.path)
    for warning in settings_warnings(resolved):
        print(f"curiosft: warning: {warning}", flush=True)
    check_context_length(resolved.model.path, sft_token_limit(resolved),
                         "data.max_prompt_length + data.max_response_length")
    train_file = check_sft_data(resolved, run_dir, log=lambda message: print(message, flush=True))
    verl_cfg = build_verl_sft_config(resolved, run_dir, nproc=nproc, train_file=train_file)
    for name, node in (("config.yaml", resolved), ("verl_config.yaml", verl_cfg)):
        with atomic_path(run_dir / name) as tmp:
            OmegaConf.save(node, tmp, resolve=True)
    return run_dir


MASTER_PORT = 29500


def torchrun_command(run_dir: Path, topo) -> list[str]:
    """torchrun for this node: standalone on one node; on several, a static rendezvous at the first node."""
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={topo.nproc_per_node}"]
    if topo.nnodes > 1:
        cmd += [f"--nnodes={topo.nnodes}", f"--node-rank={topo.node_rank}", f"--master-addr={topo.master_addr}",
                f"--master-port={MASTER_PORT}"]
    else:
        cmd.append("--standalone")
    return cmd + ["-m", "curiosft.verl_ext.sft_worker", str(run_dir)]


def run_sft(cfg: DictConfig, run_dir: str | Path, *, log=None) -> Path:
    """Train on the machine(s) this runs on (curiosft.topology: the local launcher's processes, or a
    SLURM allocation's GPUs and nodes) with torchrun; returns the model dir.

    Starting it again after a crash or a requeue resumes from the latest checkpoint (verl's resume_mode=auto).
    On several nodes every node runs torchrun; the first one writes the configs, metrics and model.
    On the time-limit signal the trainer saves the step it is at and stops (curiosft.preemption); then
    StageStopped, or under SLURM a requeue.
    """
    topo = job_topology(cfg.launcher)
    lead = topo.node_rank == 0
    run_dir = Path(run_dir).resolve()
    if lead:
        prepare_run(cfg, run_dir, nproc=topo.nproc_per_node)
    if not is_complete(run_dir):
        with stop_at_a_safe_point() as stop:
            _train(cfg, run_dir, topo, lead, stop, log)
    elif lead:
        # a finished run is not trained again; its attempts are merged anew (the current metrics layout)
        merge_metrics(run_dir, RunId.of_config("sft", cfg))
    if not lead:
        return run_dir / "model"
    model = export_model(run_dir)
    finish_run(run_dir, HF_SUBDIRS["sft"], cfg.checkpoints, log=lambda m: print(m, flush=True))
    return model


STOP_FILE = "stop.request"


def _train(cfg: DictConfig, run_dir: Path, topo, lead: bool, stop, log) -> None:
    env = dict(os.environ)
    env["VERL_FILE_LOGGER_PATH"] = str(next_attempt(run_dir))
    env.setdefault("OMP_NUM_THREADS", str(topo.threads_per_process))
    cmd = torchrun_command(run_dir, topo)
    returncode = run_until_stopped(cmd, env, log, stop=stop, stop_file=run_dir / STOP_FILE,
                                   grace_s=stop_grace_s(cfg.launcher))
    if lead:
        merge_metrics(run_dir, RunId.of_config("sft", cfg))
    if stop.requested and not is_complete(run_dir):
        raise StageStopped(f"SFT run stopped (exit {returncode}) at {latest_checkpoint(run_dir)}, before its "
                           f"{planned_steps(run_dir)} steps")
    if returncode != 0:
        raise StageFailed(f"SFT run failed (exit {returncode}): {' '.join(cmd)}; see its log")
    if lead and not is_complete(run_dir):
        # exit 0 but short of its steps (an empty epoch, a data loader that ran dry): never export that model
        raise StageFailed(f"SFT run ended (exit 0) at {latest_checkpoint(run_dir)} short of its "
                          f"{planned_steps(run_dir)} steps: the trainer stopped early; see its log "
                          f"(metrics in {run_dir / 'metrics.jsonl'})")
