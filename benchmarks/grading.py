"""Grading accuracy on real model outputs labelled blind (tests/data/grading_real), the corpus
(tests/data/grading), the review set (tests/data/grading_review) and the real golds of ../shared/realdata (the
grading audit): our graders against plain math-verify and verl's default math reward, side by side.

    python benchmarks/grading.py                    # every set (the real golds: about 25 min on 2 cores)
    python benchmarks/grading.py --sets real        # the real outputs only (seconds): the figure docs lead with
    python benchmarks/grading.py --sets realdata    # the audit only

The real outputs (issue 28): SmolLM2-135M-Instruct's responses to real MATH-500 and ARC-Challenge prompts
(benchmarks/grading_real_set.py makes them), each labelled right or wrong before any grader ran on them;
agreement with the labels, false positives (a wrong answer rewarded) and false negatives per benchmark.

The audit (curiosft.grading_audit, issue 33) renders every real gold right (must be accepted), mutates it into
near misses (one digit, sign, x10, a power, another row's gold: must be refused) and games it (huge and
non-finite numbers, empty and many boxes, every option, the question's numbers: must score 0), each as an RL
reward response (after a `</think>`). It reports the acceptance rate beside the two false-positive rates;
the hacks that take a grader up to a second each (grading_audit.COSTLY_HACKS) on every 40th row only.

Each case has a right verdict (a false positive rewards a wrong answer, a false negative refuses a right
one). Graders, all given the same graded text (the RL format: the text after the last </think>; none
without one):

- curiosft (default): `scoring.grader: curiosft` through the ScoringPool, as evaluation and the reward use it;
- release: `scoring.grader: release`, the CurioSFT release's protocol;
- math-verify: plain `verify(parse("\\boxed{gold}"), parse(response))` (Math-Verify's README usage);
- verl: verl's default math reward, `default_compute_score("HuggingFaceH4/MATH-500", response, gold)`
  (last \\boxed{} and string normalisation, verl.utils.reward_score.math_reward).

Goal: >= 98% of the corpus right with no false positive, for the default grader.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
import warnings
from collections import Counter
from pathlib import Path

from curiosft.grading_audit import COSTLY_HACKS, load_golds, probes
from curiosft.scoring import ScoringPool, graded_text
from curiosft.scoring.corpus import GradingCase, load_cases, load_real_outputs

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
# the corpus (cases from public reports) and the review set (written by a reviewer who had not seen the rules)
SETS = {"corpus": DATA / "grading", "review": DATA / "grading_review"}
# real model outputs labelled blind (issue 28): the figure docs/grading.md leads with
REAL_OUTPUTS = DATA / "grading_real"
REALDATA = ROOT.parent / "shared" / "realdata"
GOAL_ACCURACY = 0.98
COSTLY_HACK_STRIDE = 40


def pooled(cases, grader: str) -> list[bool]:
    verdicts = {}
    with ScoringPool(2, 10.0, grader) as pool:
        for fmt in ("eval", "rl"):
            subset = [c for c in cases if c.format == fmt]
            verdicts.update(zip((c.id for c in subset), (g.score == 1.0 for g in pool.score([c.item for c in subset], fmt))))
    return [verdicts[c.id] for c in cases]


def plain_math_verify(cases) -> list[bool]:
    from math_verify import parse, verify

    out = []
    for case in cases:
        text = graded_text(case.response, case.format)
        try:
            out.append(text is not None and bool(verify(parse(f"\\boxed{{{case.ground_truth}}}"), parse(text))))
        except Exception:  # noqa: BLE001 - a crash is a refusal
            out.append(False)
    return out


def verl_default(cases) -> list[bool]:
    with contextlib.redirect_stdout(io.StringIO()):  # verl prints on import
        from verl.utils.reward_score import default_compute_score

    out = []
    for case in cases:
        text = graded_text(case.response, case.format)
        try:
            out.append(text is not None and float(default_compute_score("HuggingFaceH4/MATH-500", text,
                                                                        case.ground_truth)) == 1.0)
        except Exception:  # noqa: BLE001
            out.append(False)
    return out


def tally(cases, verdicts) -> dict:
    counts = Counter()
    for case, accepted in zip(cases, verdicts):
        kind = "math" if case.kind == "math" else "mc"
        outcome = "right" if accepted is case.correct else ("fp" if accepted else "fn")
        counts[kind, outcome] += 1
        counts["all", outcome] += 1
    return counts


def measure(label: str, cases) -> dict:
    kinds = Counter("math" if c.kind == "math" else "mc" for c in cases)
    print(f"{label}: {len(cases)} cases ({kinds['math']} math, {kinds['mc']} multiple choice; "
          f"{sum(c.correct for c in cases)} right answers, {sum(not c.correct for c in cases)} wrong) from "
          f"{len({c.source for c in cases})} sources")
    graders = [("curiosft (default)", lambda: pooled(cases, "curiosft")), ("release", lambda: pooled(cases, "release")),
               ("math-verify", lambda: plain_math_verify(cases)), ("verl math_reward", lambda: verl_default(cases))]
    print(f"  {'grader':20s} {'math right':>10s} {'FP':>3s} {'FN':>3s}   {'choice right':>12s} {'FP':>3s} {'FN':>3s}"
          f"   {'all right':>9s} {'accuracy':>8s} {'FP':>3s} {'FN':>3s} {'seconds':>7s}")
    results = {}
    for name, run in graders:
        started = time.perf_counter()
        counts = tally(cases, run())
        elapsed = time.perf_counter() - started
        results[name] = counts
        accuracy = counts["all", "right"] / len(cases)
        print(f"  {name:20s} {counts['math', 'right']:6d}/{kinds['math']:<3d} {counts['math', 'fp']:3d} "
              f"{counts['math', 'fn']:3d}   {counts['mc', 'right']:8d}/{kinds['mc']:<3d} {counts['mc', 'fp']:3d} "
              f"{counts['mc', 'fn']:3d}   {counts['all', 'right']:5d}/{len(cases):<3d} {accuracy:8.1%} "
              f"{counts['all', 'fp']:3d} {counts['all', 'fn']:3d} {elapsed:7.1f}")
    ours = results["curiosft (default)"]
    accuracy = ours["all", "right"] / len(cases)
    met = accuracy >= GOAL_ACCURACY and ours["all", "fp"] == 0
    best_anchor = max(results[n]["all", "right"] for n in ("math-verify", "verl math_reward")) / len(cases)
    print(f"  default grader: {accuracy:.1%} right, {ours['all', 'fp']} false positives (goal >= {GOAL_ACCURACY:.0%} "
          f"with none: {'met' if met else 'NOT met'}); best anchor {best_anchor:.1%}")
    return results


def audit_cases(realdata: Path) -> list[GradingCase]:
    """The audit's probes of every real gold as RL-format grading cases (`correct`: a right rendering)."""
    golds = load_golds(realdata)
    batch = [p for p in probes(golds) if p.label not in COSTLY_HACKS or p.gold.index % COSTLY_HACK_STRIDE == 0]
    return [GradingCase(f"{p.gold.dataset}[{p.gold.index}] {p.family} {p.label} #{i}", p.gold.kind,
                        p.item("rl").response, p.gold.ground_truth, p.right, p.family, p.gold.dataset, "rl",
                        p.gold.choices)
            for i, p in enumerate(batch)]


def measure_audit(realdata: Path) -> dict:
    cases = audit_cases(realdata)
    families = Counter(c.pitfall for c in cases)
    print(f"real golds ({realdata}): {len({c.id.split(' ')[0] for c in cases})} golds from "
          f"{len({c.source for c in cases})} files; {families['right']} right renderings, {families['wrong']} near "
          f"misses, {families['hack']} hacks (as RL reward responses)")
    graders = [("curiosft (default)", lambda: pooled(cases, "curiosft")), ("release", lambda: pooled(cases, "release")),
               ("math-verify", lambda: plain_math_verify(cases)), ("verl math_reward", lambda: verl_default(cases))]
    print(f"  {'grader':20s} {'right accepted':>22s}   {'near misses accepted':>22s}   {'hacks accepted':>20s} "
          f"{'seconds':>7s}")
    results = {}
    for name, run in graders:
        started = time.perf_counter()
        accepted = Counter(case.pitfall for case, verdict in zip(cases, run()) if verdict)
        elapsed = time.perf_counter() - started
        results[name] = accepted
        cells = [f"{accepted[f]:6d}/{families[f]:<6d} ({accepted[f] / families[f]:6.2%})"
                 for f in ("right", "wrong", "hack")]
        print(f"  {name:20s} {cells[0]:>22s}   {cells[1]:>22s}   {cells[2]:>20s} {elapsed:7.1f}")
    ours = results["curiosft (default)"]
    print(f"  default grader: {ours['right'] / families['right']:.2%} of right renderings accepted, "
          f"{ours['wrong']} near misses and {ours['hack']} hacks accepted (goal: none)")
    return results


def real_output_cases(folder: Path = REAL_OUTPUTS) -> list[GradingCase]:
    """The real-output set (tests/data/grading_real: SmolLM2's responses to real MATH-500 and ARC-Challenge
    prompts, each labelled by a reviewer who saw neither a grader's verdict nor its rules) as grading cases in
    the `eval` format (`correct`: the reviewer's verdict)."""
    return load_real_outputs(folder)


def measure_real(folder: Path = REAL_OUTPUTS) -> dict:
    cases = real_output_cases(folder)
    by_set = Counter(c.source for c in cases)
    print(f"real outputs ({folder.relative_to(ROOT)}): {len(cases)} responses of SmolLM2-135M-Instruct "
          f"({', '.join(f'{n} {name}' for name, n in sorted(by_set.items()))}); {sum(c.correct for c in cases)} "
          f"right by the blind labels")
    graders = [("curiosft (default)", lambda: pooled(cases, "curiosft")), ("release", lambda: pooled(cases, "release")),
               ("math-verify", lambda: plain_math_verify(cases)), ("verl math_reward", lambda: verl_default(cases))]
    print(f"  {'grader':20s} {'MATH-500 agree':>14s} {'FP':>3s} {'FN':>3s}   {'ARC agree':>10s} {'FP':>3s} {'FN':>3s}"
          f"   {'all agree':>9s} {'agreement':>9s} {'FP':>3s} {'FN':>3s}")
    results = {}
    for name, run in graders:
        counts = tally(cases, run())
        results[name] = counts
        print(f"  {name:20s} {counts['math', 'right']:8d}/{by_set['math500']:<5d} {counts['math', 'fp']:3d} "
              f"{counts['math', 'fn']:3d}   {counts['mc', 'right']:6d}/{by_set['arc_challenge']:<3d} "
              f"{counts['mc', 'fp']:3d} {counts['mc', 'fn']:3d}   {counts['all', 'right']:5d}/{len(cases):<3d} "
              f"{counts['all', 'right'] / len(cases):9.1%} {counts['all', 'fp']:3d} {counts['all', 'fn']:3d}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", choices=["real", *SETS, "realdata"], default=["real", *SETS, "realdata"])
    parser.add_argument("--realdata", type=Path, default=REALDATA, help="the real benchmark files (skipped if absent)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if "real" in args.sets:
        measure_real()
    for label, folder in SETS.items():
        if label in args.sets:
            measure(label, load_cases(folder))
    if "realdata" in args.sets:
        if args.realdata.is_dir():
            measure_audit(args.realdata)
        else:
            print(f"real golds: skipped (no {args.realdata})")


if __name__ == "__main__":
    main()
