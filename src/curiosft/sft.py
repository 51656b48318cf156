"""One SFT job: write its configs, run verl's trainer under torchrun, export the final model and metrics.

Run directory layout (results/sft/method~M/schedule~S/seed~N/):
    config.yaml          the composed curiosft config (resolved)
    verl_config.yaml     verl's trainer config built from it
    checkpoints/         verl checkpoints (resume_mode=auto continues from the latest)
    metrics.jsonl        one line per step (all attempts merged; a resumed run continues the steps)
    model/               the final model, Hugging Face format (what RL and evaluation read)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from curiosft.io import atomic_path

METRICS = "metrics.jsonl"


def prepare_run(cfg: DictConfig, run_dir: str | Path, *, nproc: int = 1) -> Path:
    """Write config.yaml and verl_config.yaml into run_dir (validating both)."""
    from curiosft.verl_ext.sft_config import build_verl_sft_config

    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    resolved = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    verl_cfg = build_verl_sft_config(resolved, run_dir, nproc=nproc)
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


def _next_attempt(run_dir: Path) -> Path:
    attempts = sorted(run_dir.glob("metrics.attempt-*.jsonl"))
    return run_dir / f"metrics.attempt-{len(attempts) + 1:03d}.jsonl"


def merge_metrics(run_dir: Path) -> int:
    """metrics.jsonl from every attempt; a later attempt's line for a step replaces an earlier one."""
    by_step: dict[int, dict] = {}
    for attempt in sorted(run_dir.glob("metrics.attempt-*.jsonl")):
        for line in attempt.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                by_step[int(record["step"])] = record
    with atomic_path(run_dir / METRICS) as tmp:
        tmp.write_text("".join(json.dumps(by_step[s], sort_keys=True) + "\n" for s in sorted(by_step)))
    return len(by_step)


def latest_checkpoint(run_dir: Path) -> Path | None:
    steps = [(int(m.group(1)), p) for p in (run_dir / "checkpoints").glob("global_step_*")
             if (m := re.fullmatch(r"global_step_(\d+)", p.name))]
    return max(steps)[1] if steps else None


def export_model(run_dir: Path, hf_subdir: str = "huggingface") -> Path:
    """Copy the latest checkpoint's Hugging Face export (SFT: global_step_N/huggingface; RL, as verl's PPO
    trainer lays it out: global_step_N/actor/huggingface) to run_dir/model."""
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None or not (checkpoint / hf_subdir).is_dir():
        raise FileNotFoundError(f"no Hugging Face export under {run_dir / 'checkpoints'}; did training finish?")
    with atomic_path(run_dir / "model") as tmp:
        shutil.copytree(checkpoint / hf_subdir, tmp)
    return run_dir / "model"


def is_complete(run_dir: Path) -> bool:
    """The latest checkpoint is the run's last step (resuming it would make verl train one step more)."""
    progress, checkpoint = run_dir / "progress.json", latest_checkpoint(run_dir)
    if not progress.is_file() or checkpoint is None:
        return False
    total = json.loads(progress.read_text())["total_training_steps"]
    return int(checkpoint.name.removeprefix("global_step_")) >= int(total)


def run_forwarding_signals(cmd: list[str], env: dict, log) -> int:
    """Run cmd; SIGTERM/SIGINT to this process stop it too (torchrun then stops its workers)."""
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT if log else None)

    def forward(signum, frame):
        proc.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return proc.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def run_sft(cfg: DictConfig, run_dir: str | Path, *, log=None) -> Path:
    """Train on the machine(s) this runs on (curiosft.launcher.topology: the local launcher's processes, or a
    SLURM allocation's GPUs and nodes) with torchrun; returns the model dir.

    Starting it again after a crash or a requeue resumes from the latest checkpoint (verl's resume_mode=auto).
    On several nodes every node runs torchrun; the first one writes the configs, metrics and model.
    """
    from curiosft.launcher.jobs import topology

    topo = topology(cfg)
    lead = topo.node_rank == 0
    run_dir = Path(run_dir).resolve()
    if lead:
        prepare_run(cfg, run_dir, nproc=topo.nproc_per_node)
    if not is_complete(run_dir):
        env = dict(os.environ)
        env["VERL_FILE_LOGGER_PATH"] = str(_next_attempt(run_dir))
        env.setdefault("OMP_NUM_THREADS", str(topo.threads_per_process))
        cmd = torchrun_command(run_dir, topo)
        returncode = run_forwarding_signals(cmd, env, log)
        if lead:
            merge_metrics(run_dir)
        if returncode != 0:
            raise RuntimeError(f"SFT run failed (exit {returncode}): {' '.join(cmd)}; see its log")
    return export_model(run_dir) if lead else run_dir / "model"
