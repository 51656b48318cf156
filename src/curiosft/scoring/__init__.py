"""Answer extraction and grading, shared by evaluation and the reward function."""
