"""The real-output grading set (tests/data/grading_real, issue 28): SmolLM2-135M-Instruct's own responses to real
MATH-500 and ARC-Challenge prompts, labelled blind (README there). The default grader must agree with the labels
on every response but the disagreements recorded below, and never reward a response the reviewer judged wrong.
benchmarks/grading.py measures the same set for the release, math-verify and verl.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from curiosft.errors import InputDataError
from curiosft.scoring import ScoringPool
from curiosft.scoring.corpus import load_real_outputs

REAL = Path(__file__).parent / "data" / "grading_real"
CASES = load_real_outputs(REAL)
# the grader's verdicts that differ from the blind labels (id -> why); a new disagreement fails the test, and so
# does one of these that is gone (update the tables in tests/data/grading_real/README.md and docs/grading.md)
KNOWN_DISAGREEMENTS = {
    # false negatives: the right value stated, but not where the grader reads
    "math500-88-1": "'The maximum possible value of $a$ is $a = 2.$' mid-way, the response ends 'So, no.'",
    "math500-91-1": "'the smallest possible value for $x$ ... is 1' two sentences before the end",
    "arc_challenge-6-0": "option C's text paraphrased, no letter",
    # false positives: several options each called the answer; the grader reads the last
    "arc_challenge-82-0": "'the correct option is (B)', then (C), then (D), then 'it is not possible to predict'",
    "arc_challenge-90-1": "'The answer is A: ...', B, D, C in turn; the last is C",
}
# these two are not fixed on purpose: "the last stated answer decides" is what grades a reasoning model's
# revisions right ("the answer is A ... no, B ... so C"), and these two read the same way
KNOWN_FALSE_POSITIVES = {"arc_challenge-82-0", "arc_challenge-90-1"}


@pytest.fixture(scope="module")
def verdicts():
    with ScoringPool(2, 10.0) as pool:
        return dict(zip((c.id for c in CASES), pool.score([c.item for c in CASES], "eval")))


def test_the_set_is_real_outputs_of_both_benchmarks_two_samples_each():
    responses = [json.loads(line) for line in (REAL / "responses.jsonl").read_text().splitlines()]
    assert Counter(r["benchmark"] for r in responses) == {"math500": 400, "arc_challenge": 200}
    assert Counter((r["benchmark"], r["prompt_id"]) for r in responses).most_common(1)[0][1] == 2
    # nothing a grader decided reaches the reviewer
    assert not {"score", "extracted", "reason", "answer_class", "grader"} & set().union(*responses)
    assert all(r["kind"] == ("math" if r["benchmark"] == "math500" else "multiple_choice") for r in responses)
    assert any(c.correct for c in CASES if c.kind == "math") and any(c.correct for c in CASES if c.kind != "math")


def test_every_response_has_one_label(tmp_path):
    (tmp_path / "responses.jsonl").write_text((REAL / "responses.jsonl").read_text())
    labels = (REAL / "labels.jsonl").read_text().splitlines()
    (tmp_path / "labels.jsonl").write_text("\n".join(labels[1:]) + "\n")
    with pytest.raises(InputDataError, match="responses without a label"):
        load_real_outputs(tmp_path)
    (tmp_path / "labels.jsonl").write_text("\n".join(labels + labels[:1]) + "\n")
    with pytest.raises(InputDataError, match="labelled twice"):
        load_real_outputs(tmp_path)


def test_the_default_grader_agrees_with_the_blind_labels(verdicts):
    wrong = {c.id: (c.correct, verdicts[c.id].score, verdicts[c.id].extracted, verdicts[c.id].reason)
             for c in CASES if (verdicts[c.id].score == 1.0) != c.correct}
    false_positives = {k for k, v in wrong.items() if not v[0]}
    assert false_positives <= KNOWN_FALSE_POSITIVES, wrong  # a wrong answer rewarded
    assert set(wrong) == set(KNOWN_DISAGREEMENTS), wrong
    agreement = 1 - len(wrong) / len(CASES)
    assert agreement >= 0.99  # 595/600 (docs/grading.md)
