"""Grading cases (tests/data/grading/*.jsonl): responses with their right verdict, to measure a grader.

Schema and provenance: tests/data/grading/README.md. Used by tests/test_grading_corpus.py (every verdict of
the default grader) and benchmarks/grading.py (accuracy against plain math-verify and verl's math reward).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from curiosft.errors import InputDataError
from curiosft.scoring.pool import FORMATS, KINDS, ScoreItem

REQUIRED = ("id", "kind", "response", "ground_truth", "correct", "pitfall", "source")
OPTIONAL = ("format", "choices")


@dataclass(frozen=True)
class GradingCase:
    id: str
    kind: str
    response: str
    ground_truth: str
    correct: bool
    pitfall: str
    source: str
    format: str = "eval"
    choices: tuple[str, ...] = field(default_factory=tuple)
    file: str = ""

    @property
    def item(self) -> ScoreItem:
        return ScoreItem(self.response, self.ground_truth, self.kind, self.choices)


def load_cases(folder: str | Path) -> list[GradingCase]:
    """Every case of folder/*.jsonl, in file and line order; InputDataError naming the file and line of a
    malformed case (a missing or unknown key, a bad kind or format, a duplicate id)."""
    cases: list[GradingCase] = []
    seen: dict[str, str] = {}
    files = sorted(Path(folder).glob("*.jsonl"))
    if not files:
        raise InputDataError(f"no grading cases (*.jsonl) in {folder}")
    for path in files:
        for line_no, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}:{line_no}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputDataError(f"{where}: not JSON ({exc.msg})") from None
            missing = [k for k in REQUIRED if k not in raw]
            unknown = sorted(set(raw) - set(REQUIRED) - set(OPTIONAL))
            if missing or unknown:
                raise InputDataError(f"{where}: missing keys {missing}, unknown keys {unknown}")
            if raw["kind"] not in KINDS or raw.get("format", "eval") not in FORMATS:
                raise InputDataError(f"{where}: kind {raw['kind']!r} / format {raw.get('format')!r}; "
                                     f"kinds {KINDS}, formats {FORMATS}")
            if raw["id"] in seen:
                raise InputDataError(f"{where}: id {raw['id']!r} already used in {seen[raw['id']]}")
            seen[raw["id"]] = where
            cases.append(GradingCase(**{**raw, "choices": tuple(raw.get("choices") or ()), "file": path.name}))
    return cases
