"""`python -m curiosft.train`: one SFT run per Hydra job, for Hydra multirun sweeps.

    python -m curiosft.train experiment=tiny method=psft                       # one run
    python -m curiosft.train -m method=sft,psft,curiosft seed=1,2,3            # a sweep, one after another
    python -m curiosft.train -m hydra/launcher=curiosft_slurm launcher=slurm method=sft,psft \\
        launcher.partition=gpu                                                 # each run a SLURM job

Each run trains into its own Hydra output directory (conf/config.yaml, `hydra.run.dir` /
`hydra.sweep.dir`+`subdir`: results/runs/... and results/multirun/<experiment>/<time>/method~M/
schedule~S/seed~N), with the same config checks as every other entry point. With
`hydra/launcher=curiosft_slurm` each run is a SLURM job asking for `launcher=slurm`'s request, with its
time-limit signal and requeue rule (hydra_plugins.curiosft_slurm_launcher); it trains on the node it
lands on.
(The Snakemake workflow is the other way to sweep: it caches, resumes and chains RL and evaluation.)
"""

from __future__ import annotations

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from curiosft.config import finalize, register_schemas
from curiosft.errors import CuriosftError
from curiosft.paths import conf_dir

register_schemas()


def _is_submitit_job() -> bool:
    """Whether Hydra's launcher is a submitit one (submitit_slurm, submitit_local, curiosft_slurm): then this
    process already is the job. Decided by the launcher's class, not its name (a name test once missed
    curiosft_slurm and every Hydra SLURM job queued a second job for its training and waited on it)."""
    from hydra.utils import get_class
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import BaseSubmititLauncher

    target = HydraConfig.get().launcher.get("_target_")
    return bool(target) and issubclass(get_class(str(target)), BaseSubmititLauncher)


@hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> str:
    from curiosft.launcher import StageJob, launch

    try:
        cfg = finalize(cfg)
        out = HydraConfig.get().runtime.output_dir
        # the multirun's own overrides (method=..., seed=...): the swept keys of the manifest
        job = StageJob("sft", cfg, out, overrides=list(HydraConfig.get().overrides.task))
        if _is_submitit_job():
            # Hydra's submitit launcher made this process the SLURM job (its request: hydra.launcher, or
            # launcher=slurm's with hydra/launcher=curiosft_slurm): train here, never submit again
            job.claim()
            model = job()
        else:
            model = launch(cfg, job)
    except CuriosftError as exc:
        raise SystemExit(f"curiosft.train: {exc}") from None
    print(f"{out}: trained {cfg.method.name} (schedule {cfg.schedule.name}, seed {cfg.seed}); model at {model}")
    return str(model)


if __name__ == "__main__":
    import sys

    from curiosft.config import search_path_overrides

    # the folders of $CURIOSFT_CONF_PATH join Hydra's search path, as for every other entry point
    sys.argv[1:1] = search_path_overrides()
    main()
