"""The same GRPO, two engines: the local backend (HF generate rollouts, curiosft.rl.local) and verl's main_ppo
(Ray, FSDP actor, vLLM rollouts; the vLLM environment, `make vllm-env`), side by side in one run.

    python benchmarks/rl_backends.py                    # builds the tiny world and one SFT run if missing
    python benchmarks/rl_backends.py --results results --steps 10

Both start from the same tiny SFT checkpoint (results/sft/method~sft/schedule~none/seed~1, made with the
workflow if it is missing), with the tiny experiment's RL settings (GRPO, n 8, batch 16 prompts, mini-batch 8,
clip 0.2, lr 5e-5, T 1.0, 100 response tokens), seed 1 and `--steps` steps each. Printed: per step the mean
reward, PPO KL, clip fraction, entropy and step time of each engine; then the median step time after the
first (warm-up) step and its ratio verl/local (issue 27's goal: <= 2), and Tiny-ID avg@n (`eval.n_samples`
of the tiny experiment) of the SFT model and of each engine's final model.

Expected differences, none of them a bug (docs/performance.md "Two RL engines"): the engines sample different
rollouts from the same seed (vLLM's sampler vs HF generate), so per-step numbers agree in distribution, not
value. verl's rollouts come from a bf16 copy of the fp32 actor (its `training/rollout_actor_probs_pearson_corr`
is printed), the local backend's from the fp32 actor itself; both recompute the old log-probs with the fp32
actor before the update, so PPO KL and clipping start at 0 on the first mini-batch in both, and both take
verl's policy loss with its `loss_agg_mode` (token-mean over the mini-batch).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SFT_RUN = "sft/method~sft/schedule~none/seed~1"
COLUMNS = (("train/reward", "reward"), ("train/ppo_kl", "ppo_kl"), ("train/clip_frac", "clip"),
           ("train/entropy", "entropy"), ("perf/step_seconds", "s/step"))


def run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        raise SystemExit(f"{what} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def sft_checkpoint(results: Path) -> Path:
    """The tiny SFT run's model, made by the workflow when missing (the world, then one SFT job: ~9 min)."""
    model = results / SFT_RUN / "model"
    if not (model / "config.json").is_file():
        if results != ROOT / "results":
            raise SystemExit(f"no SFT model at {model}; leave out --results to have the workflow make it")
        print(f"making {model} with the workflow (tiny world + one SFT run) ...", flush=True)
        run([str(Path(sys.executable).with_name("snakemake")), "--profile", "profiles/default", "--cores", "2",
             "--config", "experiment=tiny", "--", f"results/{SFT_RUN}/metrics.jsonl"], "the workflow")
    return model


def read_metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def train(results: Path, model: Path, backend: str, steps: int, out: Path) -> list[dict]:
    run_dir = out / backend
    if run_dir.exists():
        shutil.rmtree(run_dir)  # a run of another length would be resumed, not trained
    print(f"rl.backend={backend}: {steps} steps ...", flush=True)
    run([sys.executable, "-m", "curiosft.cli", "rl", "--sft-model", str(model), "--out", str(run_dir),
         "experiment=tiny", f"paths.results={results}", f"rl.backend={backend}", f"rl.max_steps={steps}",
         f"rl.save_freq={steps}", "seed=1"], f"rl.backend={backend}")
    return read_metrics(run_dir)


def tiny_id_avg(results: Path, model: Path, out: Path, checkpoint: str) -> float:
    records = out / f"{checkpoint.replace('/', '_')}.tiny_id.jsonl"
    run([sys.executable, "-m", "curiosft.cli", "eval", "--model", str(model), "--benchmark", "tiny_id",
         "--data", str(results / "world" / "data" / "test_id.parquet"), "--out", str(records),
         "--checkpoint", checkpoint, "experiment=tiny", f"paths.results={results}"], f"evaluating {model}")
    scores = [json.loads(line)["score"] for line in records.read_text().splitlines()]
    return 100.0 * sum(scores) / len(scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default="results", help="results folder (tiny world + SFT run, made if missing)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--reuse", action="store_true",
                        help="read runs already in --out instead of training them again (e.g. after a crash)")
    parser.add_argument("--out", default=None, help="where the two RL runs go (default: <results>/bench/rl_backends)")
    args = parser.parse_args()
    results = Path(args.results).resolve()
    out = Path(args.out).resolve() if args.out else results / "bench" / "rl_backends"
    out.mkdir(parents=True, exist_ok=True)
    model = sft_checkpoint(results)
    lines = {backend: (read_metrics(out / backend) if args.reuse and (out / backend / "model").is_dir()
                       else train(results, model, backend, args.steps, out)) for backend in ("local", "verl")}

    print(f"\nGRPO on the tiny SFT checkpoint ({SFT_RUN}), {args.steps} steps, seed 1: local | verl")
    print(f"{'step':>4s} " + " ".join(f"{name:>17s}" for _, name in COLUMNS) + f" {'verl rollout~actor':>18s}")
    for i in range(args.steps):
        local, verl = lines["local"][i]["data"], lines["verl"][i]["data"]
        cells = [f"{local.get(k, float('nan')):8.3f} {verl.get(k, float('nan')):8.3f}" for k, _ in COLUMNS]
        pearson = verl.get("training/rollout_actor_probs_pearson_corr", float("nan"))
        print(f"{i + 1:4d} " + " ".join(cells) + f" {pearson:18.3f}")
    means = {b: {k: statistics.fmean(m["data"][k] for m in lines[b] if k in m["data"]) for k, _ in COLUMNS[:4]}
             for b in lines}
    print("mean " + " ".join(f"{means['local'][k]:8.3f} {means['verl'][k]:8.3f}" for k, _ in COLUMNS[:4]))
    # the steps' spread: do the engines' mean rewards differ beyond what the steps scatter?
    errors = {b: statistics.stdev(m["data"]["train/reward"] for m in lines[b]) / len(lines[b]) ** 0.5 for b in lines}
    print(f"mean reward +- s.e. over steps: local {means['local']['train/reward']:.3f} +- {errors['local']:.3f}, "
          f"verl {means['verl']['train/reward']:.3f} +- {errors['verl']:.3f}")
    step_s = {b: statistics.median(m["data"]["perf/step_seconds"] for m in lines[b][1:]) for b in lines}
    print(f"\nstep time (median of steps 2..{args.steps}): local {step_s['local']:.2f} s, verl {step_s['verl']:.2f} s; "
          f"verl/local = {step_s['verl'] / step_s['local']:.2f} (goal <= 2)")
    print("Tiny-ID avg@n: " + ", ".join(
        f"{name} {tiny_id_avg(results, path, out, ckpt):.1f}%" for name, path, ckpt in (
            ("SFT", model, SFT_RUN),
            ("local RL", out / "local" / "model", "rl/method~sft/schedule~none/seed~1"),
            ("verl RL", out / "verl" / "model", "rl/method~sft/schedule~none/seed~1"))))


if __name__ == "__main__":
    main()
