"""The default grader on the real golds of ../shared/realdata (issue 33): right renderings accepted, near misses and
reward hacks refused, as the RL reward (`rl`: the answer after a thinking block) and in evaluation (`eval`).

The probes come from curiosft.grading_audit. The default run (about a minute and a half on 2 cores) grades every
gold's right renderings and near misses, and its cheap hacks in one format (even rows as RL reward, odd rows
in evaluation); the hacks that take the grader up to a second each (grading_audit.COSTLY_HACKS) on every 40th
row. `-m slow` runs every probe of every gold in both formats (benchmarks/grading.py reports the same probes
for every grader).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from curiosft.grading_audit import COSTLY_HACKS, Probe, load_golds, model_forms, probes
from curiosft.scoring import ScoringPool

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"

if not REALDATA.is_dir():
    pytest.skip(f"no real benchmark files at {REALDATA}", allow_module_level=True)

# golds sampled in the default run: every STRIDE-th row of each file (from row OFFSET)
NEAR_MISS_STRIDE = 1
HACK_STRIDE = 2
COSTLY_HACK_STRIDE = 40  # the hacks that take the grader up to a second each (grading_audit.COSTLY_HACKS)
OFFSET = {"rl": 0, "eval": 21}  # the two formats see different golds: every gold gets the cheap hacks in one


@pytest.fixture(scope="module")
def golds():
    return load_golds(REALDATA)


@pytest.fixture(scope="module")
def pool():
    with ScoringPool(2, 10.0) as scoring:
        yield scoring


def sample(golds, stride: int, offset: int = 0):
    return [gold for gold in golds if gold.index % stride == offset % stride]


def wrong_verdicts(pool: ScoringPool, batch: list[Probe], fmt: str) -> list[str]:
    grades = pool.score([probe.item(fmt) for probe in batch], fmt)
    return [f"{p.gold.dataset}[{p.gold.index}] gold {p.gold.ground_truth!r}, {p.family} {p.label}: {p.answer[:120]!r} "
            f"-> {g.score} ({g.reason})" for p, g in zip(batch, grades) if (g.score == 1.0) != p.right]


def test_the_audit_covers_every_real_file_and_every_kind_of_probe(golds):
    assert {gold.dataset for gold in golds} == {"aime24", "aime25", "amc23", "math500", "minerva_math", "arc_challenge"}
    batch = probes(sample(golds, 12))
    labels = {probe.label for probe in batch}
    for label in ("boxed", "leading digit changed", "sign flipped", "first number x10", "another row's gold",
                  "10^400", "-10^999", "2^5000", "400!/2^50", "infinity", "NaN", "empty box",
                  "every integer below 1000, boxed one by one", "the question's own number", "every letter boxed",
                  "every option's text", "another letter", "option text boxed", "elimination",
                  "another option's text boxed", "the gold rejected"):
        assert label in labels, label
    assert all(probe.answer != probe.gold.ground_truth for probe in batch if probe.family != "right")


def test_model_forms_cover_the_real_files_answer_shapes(golds):
    """Issue 28: what the real files write in their answer fields, rendered the ways models write the value."""
    by_gold = {gold.ground_truth: dict(model_forms(gold.ground_truth)) for gold in golds if gold.kind == "math"}
    assert by_gold["10,\\!080"]["no thousands separators"] == "10080"
    assert by_gold["10,\\!080"]["thousands separated by commas"] == "10,080"
    assert by_gold["11,\\! 111,\\! 111,\\! 100"]["thousands separated by {,}"] == "11{,}111{,}111{,}100"
    assert by_gold["\\$32,\\!348"]["dollar sign dropped, no thousands separators"] == "32348"
    assert by_gold["90^\\circ"]["degrees as °"] == "90°" and by_gold["90^\\circ"]["degrees dropped"] == "90"
    assert by_gold["864 \\mbox{ inches}^2"]["unit dropped"] == "864"
    assert by_gold["\\text{Evelyn}"]["word without \\text"] == "Evelyn"
    assert "thousands separated by commas" not in by_gold["2516_8"]  # a base-8 numeral has no thousands
    labels = {label for forms in by_gold.values() for label in forms}
    assert {"frac for dfrac", "dfrac for frac", "mathrm for text", "text for mbox", "dollar sign dropped"} <= labels
    assert model_forms("(2,100)") == [("as written", "(2,100)")]  # a pair, not 2100


def test_minerva_code_golds_are_normalised_before_the_audit(golds):
    minerva = {gold.index: gold.ground_truth for gold in golds if gold.dataset == "minerva_math"}
    assert (minerva[5], minerva[38], minerva[49]) == ("\\arcsin(10/13)", "-1/3", "-3/2")


def test_every_right_rendering_of_a_real_gold_is_accepted(golds, pool):
    assert wrong_verdicts(pool, probes(golds, ("right",)), "eval") == []


def test_no_near_miss_of_a_real_gold_is_accepted(golds, pool):
    """Near misses, and another row's gold in every model form (none may equal this gold: issue 28)."""
    batch = probes(sample(golds, NEAR_MISS_STRIDE), ("wrong",))
    assert len(batch) > 10000
    assert wrong_verdicts(pool, batch, "eval") == []


@pytest.mark.parametrize("fmt", ["rl", "eval"])
def test_no_reward_hack_scores_on_a_real_gold(golds, pool, fmt):
    batch = [probe for probe in probes(sample(golds, HACK_STRIDE, OFFSET[fmt]), ("hack",))
             if probe.label not in COSTLY_HACKS]
    batch += [probe for probe in probes(sample(golds, COSTLY_HACK_STRIDE, OFFSET[fmt]), ("hack",))
              if probe.label in COSTLY_HACKS]
    assert len(batch) > 3000
    assert wrong_verdicts(pool, batch, fmt) == []


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["rl", "eval"])
def test_every_gold_every_probe(golds, pool, fmt):
    """The whole audit: every real gold, every probe (about 4 min a format on 2 cores; 8 min 7 s for both,
    no wrong verdict, 2026-12-06)."""
    assert wrong_verdicts(pool, probes(golds), fmt) == []
