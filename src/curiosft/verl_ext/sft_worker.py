"""One process of an SFT run (started by torchrun): `python -m curiosft.verl_ext.sft_worker RUN_DIR`.

RUN_DIR holds config.yaml (the composed curiosft config) and verl_config.yaml (verl's trainer config),
both written by curiosft.sft before launching.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from omegaconf import OmegaConf


def main(run_dir: str) -> None:
    from curiosft.preemption import exit_with_the_job

    # torchrun starts this process in its own session: without this it would train on after a SIGKILLed job
    exit_with_the_job()
    cfg = OmegaConf.load(Path(run_dir) / "config.yaml")
    verl_cfg = OmegaConf.load(Path(run_dir) / "verl_config.yaml")

    from curiosft.verl_ext.cpu_platform import gpu_present

    if gpu_present():
        from verl.utils.distributed import initialize_global_process_group

        initialize_global_process_group()
    else:
        # verl would ask for "cpu:gloo,cpu:gloo"; on CPU the one backend is gloo
        from curiosft.topology import planned_topology

        torch.set_num_threads(planned_topology(cfg.launcher).threads_per_process)
        torch.distributed.init_process_group(backend="gloo")
        # (verl's engines for "cpu" were registered as the platform plugin loaded)

    from curiosft.verl_ext.sft_trainer import CuriosftSFTTrainer, TrainingStopped

    trainer = CuriosftSFTTrainer(verl_cfg, method=cfg.method, schedule=cfg.schedule)
    try:
        trainer.fit()
    except TrainingStopped:
        pass  # the checkpoint is complete; the job requeues (curiosft.preemption)
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m curiosft.verl_ext.sft_worker RUN_DIR")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main(sys.argv[1])
