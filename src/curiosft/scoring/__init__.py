"""Answer extraction and grading, shared by evaluation and the RL reward (server and verl reward function).

- `ScoringPool(workers, timeout_s).score(items, fmt)`: the entry point; math-verify in worker processes
  under a hard timeout, multiple choice by letter extraction.
- `extract_choice`, `last_boxed_answer`, `grade_math`: the individual graders.
"""

from curiosft.scoring.boxed import boxed_match, last_boxed_answer, normalize_answer
from curiosft.scoring.choice import extract_choice
from curiosft.scoring.pool import FORMATS, KINDS, Grade, ScoreItem, ScoringPool, graded_text

__all__ = [
    "FORMATS", "KINDS", "Grade", "ScoreItem", "ScoringPool", "boxed_match", "extract_choice", "graded_text",
    "last_boxed_answer", "normalize_answer",
]
