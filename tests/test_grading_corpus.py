"""The grading corpus (tests/data/grading): every verdict of the default grader, and what the release got wrong.

Each case is an answer shape graders are known to get wrong, from a public report (or a real benchmark
file's answer shape); benchmarks/grading.py measures the same cases against plain math-verify and verl.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from curiosft.errors import ConfigError, InputDataError, UnknownNameError
from curiosft.scoring import ScoringPool, get_grader, grader_names
from curiosft.scoring.corpus import load_cases

CORPUS = Path(__file__).parent / "data" / "grading"
REVIEW = Path(__file__).parent / "data" / "grading_review"
CASES = load_cases(CORPUS)
# written by a reviewer who saw neither the rules nor the corpus (no public report: kept apart)
REVIEWED = load_cases(REVIEW)


@pytest.fixture(scope="module")
def grades():
    """{grader name: {case id: Grade}} for both graders, each case in its own format."""
    out = {}
    for name in grader_names():
        with ScoringPool(workers=2, timeout_s=10.0, grader=name) as pool:
            out[name] = {}
            for fmt in ("eval", "rl"):
                cases = [c for c in CASES + REVIEWED if c.format == fmt]
                out[name].update(zip((c.id for c in cases), pool.score([c.item for c in cases], fmt)))
    return out


def test_the_corpus_covers_both_kinds_both_verdicts_and_cites_its_sources():
    assert len(CASES) >= 80
    assert not {c.id for c in CASES} & {c.id for c in REVIEWED}
    counts = Counter((c.kind, c.correct) for c in CASES)
    for kind in ("math", "multiple_choice"):
        assert counts[kind, True] >= 15 and counts[kind, False] >= 15, counts
    assert sum(c.format == "rl" for c in CASES) >= 5
    for case in CASES:
        assert case.source.startswith("https://github.com/") or " : " in case.source, case.id
        assert case.pitfall and "\n" not in case.pitfall, case.id
        if case.kind == "multiple_choice":
            letters = [chr(ord("A") + i) for i in range(len(case.choices))]
            assert case.ground_truth in letters, case.id
    # every file the README describes is there, and the README's keys are the loader's
    readme = (CORPUS / "README.md").read_text()
    for key in ("id", "kind", "format", "response", "ground_truth", "choices", "correct", "pitfall", "source"):
        assert f"`{key}`" in readme


@pytest.mark.parametrize("case", CASES + REVIEWED, ids=[c.id for c in CASES + REVIEWED])
def test_default_grader_verdict(case, grades):
    grade = grades["curiosft"][case.id]
    assert (grade.score == 1.0) is case.correct, (
        f"{case.file} {case.id}: {'rejected' if case.correct else 'accepted'} ({grade.reason}, extracted "
        f"{grade.extracted!r}); pitfall: {case.pitfall}; source: {case.source}")


def test_the_release_grader_keeps_the_release_faults(grades):
    """`scoring.grader: release` reproduces the papers' numbers, faults included: these are its known errors."""
    release = grades["release"]
    assert release["i13-tiny-reciprocal-power"].score == 1.0       # absolute tolerance
    assert release["i13-rejected-candidate-no-box"].score == 1.0   # whole-text fallback
    assert release["i13-thin-space-thousands"].score == 0.0
    assert release["i13-mc-boxed-formula-then-answer"].score == 1.0  # box before the stated answer
    wrong = [c.id for c in CASES if (release[c.id].score == 1.0) is not c.correct]
    assert len(wrong) >= 20, wrong


def test_graders_have_names_versions_and_a_clear_error():
    assert grader_names()[0] == "curiosft"
    for name in grader_names():
        grader = get_grader(name)
        assert grader.tag == f"{name}-{grader.version}" and grader.description
    with pytest.raises(UnknownNameError, match="unknown grader 'strict'; choose one of curiosft, release"):
        ScoringPool(workers=1, grader="strict")


def test_scoring_grader_is_a_config_choice():
    from curiosft.config import compose_config

    assert compose_config(["experiment=tiny"]).scoring.grader == "curiosft"
    assert compose_config(["experiment=tiny", "scoring.grader=release"]).scoring.grader == "release"
    with pytest.raises(ConfigError, match="unknown scoring.grader 'strict'; choose one of curiosft, release"):
        compose_config(["experiment=tiny", "scoring.grader=strict"])


def test_a_malformed_case_is_named_with_its_file_and_line(tmp_path):
    good = {"id": "x-1", "kind": "math", "response": "\\boxed{1}", "ground_truth": "1", "correct": True,
            "pitfall": "p", "source": "https://github.com/o/r/issues/1"}
    (tmp_path / "a.jsonl").write_text(json.dumps(good) + "\n" + json.dumps({**good, "verdict": True}) + "\n")
    with pytest.raises(InputDataError, match=r"a.jsonl:2: missing keys \[\], unknown keys \['verdict'\]"):
        load_cases(tmp_path)
    (tmp_path / "a.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(InputDataError, match="a.jsonl:2: id 'x-1' already used in a.jsonl:1"):
        load_cases(tmp_path)


MATH_BENCHMARKS = ("aime24", "aime25", "amc23", "math500", "minerva_math")


def test_every_real_ground_truth_accepts_itself_and_rejects_its_neighbour(realdata):
    """The real answer shapes (integers, floats like 27.0, intervals, matrices, degrees, e-notation, text): each
    gold, boxed as a response, is accepted; the next row's different gold is rejected (a false positive
    there would be one in the tables)."""
    from curiosft.scoring import ScoreItem
    from curiosft.scoring.math import texts_equal

    items, expected = [], []
    for benchmark in MATH_BENCHMARKS:
        golds = [str(json.loads(line)["answer"]) for line in (realdata / benchmark / "test.jsonl").open()]
        for i, gold in enumerate(golds):
            items.append(ScoreItem(f"So the answer is $\\boxed{{{gold}}}$.", gold))
            expected.append((benchmark, gold, gold, True))
            other = golds[(i + 1) % len(golds)]
            # "x=5" for gold 5 is the same answer (the one such neighbour pair in MATH-500)
            if not texts_equal(gold, other) and other.replace("x=", "") != gold:
                items.append(ScoreItem(f"So the answer is $\\boxed{{{other}}}$.", gold))
                expected.append((benchmark, gold, other, False))
    with ScoringPool(workers=2, timeout_s=10.0) as pool:
        grades = pool.score(items)
    wrong = [(b, g, o, grade.reason) for (b, g, o, ok), grade in zip(expected, grades) if (grade.score == 1.0) != ok]
    assert len(items) > 1500 and not wrong, wrong
