"""`curiosft regrade`: re-score records with another grader, count the flips, never touch the inputs."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from curiosft.errors import ConfigError
from curiosft.evaluation.records import FIELDS, RecordsError, read_records, write_records
from curiosft.evaluation.regrade import regrade
from curiosft.scoring import ScoringPool
from curiosft.scoring.corpus import load_cases

CASES = [c for c in load_cases(Path(__file__).parent / "data" / "grading") if c.format == "eval"]
CHECKPOINT = "sft/method~psft/schedule~none/seed~1"


def _records(cases, grades, benchmark):
    return [{
        "checkpoint": CHECKPOINT, "stage": "sft", "method": "psft", "schedule": "none", "seed": 1, "step": 60,
        "benchmark": benchmark, "split": "id" if c.kind == "math" else "ood", "kind": c.kind, "prompt_id": i,
        "sample": 0, "n_samples": 1, "temperature": 0.6, "top_p": 1.0, "top_k": None, "backend": "hf",
        "ground_truth": c.ground_truth,
        "response": c.response, "extracted": g.extracted, "answer_class": None, "score": g.score, "reason": g.reason,
        "response_length": 10, "finish_reason": "stop", "mean_entropy": 0.5, "choice_order": [],
        "choices": list(c.choices) if c.kind == "multiple_choice" else None, "grader": "release", "grader_version": "1", "protocol": "custom",
    } for i, (c, g) in enumerate(zip(cases, grades))]


@pytest.fixture(scope="module")
def release_records(tmp_path_factory):
    """Two record files graded by the release grader: the corpus's math and multiple-choice cases."""
    root = tmp_path_factory.mktemp("results") / "eval" / CHECKPOINT
    files, truth = [], {}
    with ScoringPool(2, 10.0, "release") as pool:
        for kind, benchmark in (("math", "math500"), ("multiple_choice", "gpqa_diamond")):
            cases = [c for c in CASES if c.kind == kind]
            grades = pool.score([c.item for c in cases])
            path = root / f"{benchmark}.jsonl"
            write_records(path, _records(cases, grades, benchmark))
            files.append(path)
            truth[benchmark] = (cases, grades)
    return files, truth


def test_regrade_counts_the_flips_and_leaves_the_inputs_alone(release_records, tmp_path):
    files, truth = release_records
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in files]
    out = tmp_path / "regraded"
    run = subprocess.run([sys.executable, "-m", "curiosft.cli", "regrade", *map(str, files), "--grader", "curiosft",
                          "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in files] == digests
    for benchmark, (cases, grades) in truth.items():
        # the corrected grader gets every corpus case right, so the flips are exactly the release's errors
        gained = sum(c.correct and g.score == 0 for c, g in zip(cases, grades))
        lost = sum(not c.correct and g.score == 1 for c, g in zip(cases, grades))
        line = next(ln for ln in run.stdout.splitlines() if ln.startswith(benchmark))
        assert line.split()[3:8] == ["release-1", str(len(cases)), str(gained + lost), str(gained), str(lost)], line
        copy = read_records([out / CHECKPOINT / f"{benchmark}.jsonl"], columns=FIELDS)
        assert set(copy["grader"]) == {"curiosft"} and set(copy["grader_version"]) == {"4"}
        assert list(copy["score"]) == [float(c.correct) for c in cases]
        assert set(copy["backend"]) == {"hf"}  # regrading changes the verdicts, not what sampled them
        # one sample per prompt: each answer is its own maj@n class, recomputed by the new grader
        assert list(copy["answer_class"].isna()) == list(copy["extracted"].isna())
        assert set(copy["answer_class"].dropna()) <= {0}
    assert "verdicts changed" in run.stdout and "the inputs are unchanged" in run.stdout


def test_regrade_refuses_to_overwrite_its_input_and_needs_the_options(release_records, tmp_path):
    files, _ = release_records
    with pytest.raises(ConfigError, match="would overwrite the input"):
        regrade(files[:1], "curiosft", out=files[0].parents[4], progress=False)
    rows = [json.loads(line) for line in files[1].read_text().splitlines()]
    old = tmp_path / "old.jsonl"
    old.write_text("".join(json.dumps({k: v for k, v in r.items() if k not in ("choices", "grader",
                                                                                 "grader_version")}) + "\n"
                           for r in rows))
    with pytest.raises(RecordsError, match=r"multiple-choice records .* have no `choices` .* re-run their evaluation"):
        regrade([old], "curiosft", progress=False)
