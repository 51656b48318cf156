"""The project's error types: what a user can fix, as opposed to a bug.

Every error curiosft raises about its input (a config value, a data file, a missing model, a failed
job) is a `CuriosftError`; its message names the value and the fix. The command line catches that one
base and prints a single line (`curiosft <command>: <message>`); anything else is a bug and keeps its
traceback. Each subclass also derives from the builtin a caller would expect (ValueError for a bad
value, FileNotFoundError for a missing input, ...), so `except ValueError` keeps working.

A leaf module: plain Python, imported by every layer (config checks, stages, launcher, CLI).
"""

from __future__ import annotations

__all__ = [
    "ConfigError", "CuriosftError", "InputDataError", "MissingInputError", "StageFailed", "StageStopped", "UnknownNameError",
    "choose", "require",
]


class CuriosftError(Exception):
    """Base of the project's user-facing errors (the CLI prints the message alone, no traceback)."""


class ConfigError(CuriosftError, ValueError):
    """A configuration that cannot run; the message names the value and the fix."""


class UnknownNameError(ConfigError, KeyError):
    """A name (benchmark, data set, method, stage) that is not registered; the message lists the choices."""

    __str__ = Exception.__str__  # KeyError would quote the message


class InputDataError(CuriosftError, ValueError):
    """A data, benchmark or results file whose content cannot be used (empty, wrong layout, corrupt)."""


class MissingInputError(CuriosftError, FileNotFoundError):
    """A file or folder a stage needs does not exist; the message says which job produces it."""


class StageFailed(CuriosftError, RuntimeError):
    """A stage's worker processes (torchrun, verl main_ppo, a SLURM job) ended in failure; see its log."""


class StageStopped(StageFailed):
    """A stage stopped early on the time-limit signal (curiosft.preemption), its last checkpoint complete;
    running it again resumes from there. Under SLURM the job requeues itself instead of raising this."""


def require(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless condition holds (the schemas' __post_init__ checks)."""
    if not condition:
        raise ConfigError(message)


def choose(value: str, choices, what: str) -> None:
    """ConfigError unless value is one of choices, naming them."""
    require(value in tuple(choices), f"unknown {what} {value!r}; choose one of {', '.join(choices)}")
