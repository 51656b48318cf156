"""The `checkpoints` section: what a finished SFT or RL run keeps on disk (curiosft.runs.prune_finished_run).

A checkpoint holds the weights, the optimizer state (twice the weights with Adam) and extra state, plus a
Hugging Face export of the weights. Once a run has finished and exported its model nothing resumes it (a
longer run is another run), so by default only the exports stay: the curves, the step selection and the
evaluations read nothing else. Read by the SFT and RL stages; not fingerprinted (curiosft.stages): it
changes what stays on disk, not what is computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from curiosft.errors import require


@dataclass
class CheckpointsConfig:
    # the saved steps whose Hugging Face export a finished run keeps: the last k (null: every saved step,
    # which the curves and eval.select=best:... evaluate)
    keep_last: Optional[int] = None
    # keep each checkpoint's weights shards, optimizer and trainer state too (to resume or inspect them)
    keep_state: bool = False

    def __post_init__(self) -> None:
        require(self.keep_last is None or self.keep_last >= 1,
                f"checkpoints.keep_last={self.keep_last} must be >= 1 (or null: every saved step)")
