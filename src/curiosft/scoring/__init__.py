"""Answer extraction and grading, shared by evaluation and the RL reward (server and verl reward function).

- `ScoringPool(workers, timeout_s, grader).score(items, fmt)`: the entry point; math in worker processes
  under a hard timeout, multiple choice by letter extraction.
- `get_grader(name)`: the default grader (`curiosft`, corrected: curiosft.scoring.math / .choice) or the
  release's protocol (`release`: curiosft.scoring.release); every grade carries the grader's tag.
- `final_answer`, `extract_choice`, `last_boxed_answer`: the individual pieces.
"""

from curiosft.scoring.answer import FinalAnswer, final_answer
from curiosft.scoring.boxed import boxed_match, last_boxed_answer, normalize_answer
from curiosft.scoring.choice import extract_choice
from curiosft.scoring.graders import DEFAULT_GRADER, Grader, get_grader, grader_names
from curiosft.scoring.pool import FORMATS, KINDS, Grade, ScoreItem, ScoringPool, graded_text

__all__ = [
    "DEFAULT_GRADER", "FORMATS", "KINDS", "FinalAnswer", "Grade", "Grader", "ScoreItem", "ScoringPool", "boxed_match",
    "extract_choice", "final_answer", "get_grader", "graded_text", "grader_names", "last_boxed_answer",
    "normalize_answer",
]
