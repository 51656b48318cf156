"""The `scoring` section: the grading protocol shared by evaluation and the RL reward (grader, timeout).

Worker counts are each job's resources: `eval.scoring_workers`, `rl.reward.workers`.
"""

from __future__ import annotations

from dataclasses import dataclass

from curiosft.defaults import GRADING_TIMEOUT_S
from curiosft.errors import choose, require
from curiosft.scoring.graders import DEFAULT_GRADER, grader_names


@dataclass
class ScoringConfig:
    # curiosft (default, corrected) | release (the CurioSFT release's protocol, to reproduce the papers'
    # numbers); docs/grading.md
    grader: str = DEFAULT_GRADER
    # the hard per-item grading timeout (seconds): an item still grading then scores 0 (release: 10 s)
    timeout_s: float = GRADING_TIMEOUT_S

    def __post_init__(self) -> None:
        choose(self.grader, grader_names(), "scoring.grader")
        require(self.timeout_s > 0, f"scoring.timeout_s={self.timeout_s} must be > 0")
