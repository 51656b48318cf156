"""`hydra/launcher=curiosft_slurm`: Hydra multirun jobs on SLURM with the workflow launcher's request,
time-limit signal and requeue rule (conf/hydra/launcher/curiosft_slurm.yaml; docs/slurm.md).

The submitit plugin's own defaults (`hydra/launcher=submitit_slurm`: a 60-minute limit, no requeue) end a
paper run after an hour. This launcher takes partition, account, nodes, GPUs, CPUs, memory, time limit and
the signal's lead from `launcher=slurm` (one place, as every workflow job does) and requeues a timed-out job
only when it saved a new checkpoint since its last time-out (curiosft.launcher.requeue), the same rule.
"""

from __future__ import annotations

import time
from typing import Any

from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher


class CuriosftSlurmLauncher(SlurmLauncher):
    def __call__(self, *args: Any, **kwargs: Any):
        self._attempt_started = time.time()
        return super().__call__(*args, **kwargs)

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        from hydra.core.hydra_config import HydraConfig

        from curiosft.launcher.requeue import no_requeue_reason, timed_out

        timeout_min = float(self.params["timeout_min"])
        started = getattr(self, "_attempt_started", None)
        late = started is not None and timed_out(started, timeout_min)
        reason = no_requeue_reason(HydraConfig.get().runtime.output_dir, timed_out=late, timeout_min=timeout_min)
        if reason is not None:
            print(f"curiosft: not requeued: {reason}", flush=True)
            return None
        return super().checkpoint(*args, **kwargs)
