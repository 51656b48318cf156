"""The option letters of a multiple-choice question (A, B, ...), shared by prompts and records (curiosft.data)
and the choice graders (curiosft.scoring), so neither layer imports the other for them."""

from __future__ import annotations

import string

from curiosft.errors import InputDataError

LETTERS = string.ascii_uppercase


def choice_letters(n: int) -> list[str]:
    """The first `n` letters; InputDataError unless 2 <= n <= 26."""
    if not 2 <= n <= len(LETTERS):
        raise InputDataError(f"{n} choices: multiple-choice questions need between 2 and {len(LETTERS)} options")
    return list(LETTERS[:n])
