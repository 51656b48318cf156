"""verl's PPO entry point, ending with the job that started it:
`python -m curiosft.verl_ext.main_ppo --config-path=RUN_DIR --config-name=verl_config` (curiosft.rl.run).

`verl.trainer.main_ppo` as it is, run as `__main__` (its Hydra arguments unchanged), after one addition:
`curiosft.preemption.exit_with_the_job`. A curiosft RL job killed by SIGKILL (the OOM killer, `kill -9`,
a laptop's Snakemake stopped) sends main_ppo no signal: it would train on, and write checkpoints beside the
next attempt. With this it gets SIGTERM within a second of the job's end, as from a job that stopped it: Ray's
driver then shuts its cluster down (raylet, GCS, workers, vLLM). Ended at once instead, Ray's dashboard and
runtime-env agents would outlive it (measured: still there a minute later, reporting to a dead GCS).
"""

from __future__ import annotations

import runpy


def main() -> None:
    from curiosft.preemption import exit_with_the_job

    exit_with_the_job(terminate_first_s=30.0)
    runpy.run_module("verl.trainer.main_ppo", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
