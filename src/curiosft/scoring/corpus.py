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


def _jsonl(path: Path) -> list[dict]:
    rows = []
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputDataError(f"{path.name}:{line_no}: not JSON ({exc.msg})") from None
    return rows


def load_real_outputs(folder: str | Path) -> list[GradingCase]:
    """The real-output set (tests/data/grading_real/, README there): model responses (`responses.jsonl`, no
    grader's verdict in them) joined with a reviewer's blind labels (`labels.jsonl`: id, correct, answer, note)
    as `eval`-format cases whose `source` is the benchmark. InputDataError for a response without exactly one
    label, or a label without a response."""
    folder = Path(folder)
    responses = _jsonl(folder / "responses.jsonl")
    labels: dict[str, dict] = {}
    for label in _jsonl(folder / "labels.jsonl"):
        if label["id"] in labels:
            raise InputDataError(f"{folder}/labels.jsonl: {label['id']!r} labelled twice")
        labels[label["id"]] = label
    unknown = sorted(set(labels) - {r["id"] for r in responses})
    missing = [r["id"] for r in responses if r["id"] not in labels]
    if unknown or missing:
        raise InputDataError(f"{folder}: responses without a label {missing[:5]} ({len(missing)}), labels without a "
                             f"response {unknown[:5]} ({len(unknown)}); label every response once")
    return [GradingCase(r["id"], r["kind"], r["response"], r["ground_truth"], bool(labels[r["id"]]["correct"]),
                        labels[r["id"]].get("note", ""), r["benchmark"], "eval", tuple(r["choices"] or ()),
                        "responses.jsonl")
            for r in responses]
