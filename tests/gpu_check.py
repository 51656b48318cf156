"""The GPU check, one prepared run (docs/testing.md "GPU check"): on the tiny world's model built on the spot,

1. SFT for sft, psft and curiosft through verl's FSDP2 engine, bf16 mixed precision on CUDA, 4 steps each:
   every logged metric finite, checkpoints at steps 2 and 4, the Hugging Face export;
2. a resume: a curiosft run SIGKILLed after its first finished save, started again, ends with every step
   once and the second attempt starting right after the saved step;
3. the export loaded by transformers on the GPU (a finite forward pass in bf16);
4. hf evaluation on the GPU (`curiosft eval`, eval.backend=hf): records, and the summary's device is cuda.

Everything it ran, the versions, the timings and each check's outcome go to one JSON file. Run by
tests/test_gpu.py (marker `gpu`, `make test-gpu`); `python tests/gpu_check.py --out DIR --device cpu` runs the
same steps on CPU (fp32), which is how it is kept working on machines without a GPU.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
METHODS = (("sft", "none"), ("psft", "none"), ("curiosft", "entropy_guided"))


class Check:
    """Collects what ran: each step's name, seconds, outcome and details; written after every step."""

    def __init__(self, path: Path, device: str):
        import importlib.metadata as md

        import torch

        def version(name):
            try:
                return md.version(name)
            except md.PackageNotFoundError:
                return None

        self.path = path
        self.report = {
            "device": device, "python": platform.python_version(), "host": platform.node(),
            "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
            "cuda": torch.version.cuda, "versions": {n: version(n) for n in (
                "torch", "transformers", "tokenizers", "verl", "tensordict", "ray", "accelerate", "flash-attn",
                "hydra-core", "numpy")},
            "steps": [], "passed": False,
        }
        self.started = time.monotonic()

    def step(self, name: str, function, *args):
        started = time.monotonic()
        entry = {"name": name}
        self.report["steps"].append(entry)
        try:
            entry["details"] = function(*args)
            entry["ok"] = True
        except Exception as exc:  # recorded, then raised: the report says which step failed and why
            entry["ok"], entry["error"] = False, f"{type(exc).__name__}: {exc}"[-4000:]
            raise
        finally:
            entry["seconds"] = round(time.monotonic() - started, 2)
            self.write()
        return entry["details"]

    def write(self):
        self.report["total_seconds"] = round(time.monotonic() - self.started, 2)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.report, indent=2) + "\n")
        tmp.replace(self.path)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "curiosft.cli", *args]


def _run(cmd: list[str], log: Path, timeout: int = 600) -> None:
    with open(log, "w") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:5])} exited {proc.returncode}; last lines:\n"
                           + "\n".join(log.read_text().splitlines()[-30:]))


def build_world(results: Path) -> dict:
    from omegaconf import OmegaConf

    from curiosft.config import compose_config
    from curiosft.world.build import build_world as build

    return build(OmegaConf.to_object(compose_config(["experiment=smoke"]).world), results)


def sft_overrides(results: Path, method: str, schedule: str, device: str, *extra: str) -> list[str]:
    dtype = "model.dtype=bfloat16" if device == "cuda" else "model.dtype=float32"
    return ["experiment=smoke", f"paths.results={results}", f"method={method}", f"schedule={schedule}", dtype,
            "trainer.save_freq=2", *extra]


def metric_lines(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]


def check_run(run_dir: Path, steps: int) -> dict:
    lines = metric_lines(run_dir)
    if [m["step"] for m in lines] != list(range(1, steps + 1)):
        raise AssertionError(f"{run_dir}: steps {[m['step'] for m in lines]}, expected 1..{steps}")
    bad = {(m["step"], k): v for m in lines for k, v in m["data"].items()
           if isinstance(v, float) and not math.isfinite(v)}
    if bad:
        raise AssertionError(f"{run_dir}: non-finite metrics {bad}")
    saved = sorted(int(p.name.removeprefix("global_step_")) for p in (run_dir / "checkpoints").glob("global_step_*"))
    if saved[-1] != steps or not (run_dir / "model" / "config.json").is_file():
        raise AssertionError(f"{run_dir}: checkpoints {saved}, model/ {list((run_dir / 'model').glob('*'))}")
    last = lines[-1]["data"]
    return {"steps": steps, "checkpoints": saved, "last": {k: last[k] for k in sorted(last)
                                                           if k.startswith(("train/", "perf/"))}}


def train(results: Path, work: Path, method: str, schedule: str, device: str) -> dict:
    run_dir = work / "sft" / method
    _run(_cli("sft", "--out", str(run_dir), *sft_overrides(results, method, schedule, device, "trainer.max_steps=4")),
         work / f"sft_{method}.log")
    return check_run(run_dir, 4)


def resume(results: Path, work: Path, device: str) -> dict:
    """SIGKILL the whole job once a save has finished, start it again: every step once, resumed after the save."""
    run_dir = work / "sft" / "curiosft_resumed"
    cmd = _cli("sft", "--out", str(run_dir), *sft_overrides(results, "curiosft", "entropy_guided", device,
                                                             "trainer.max_steps=8"))
    tracker = run_dir / "checkpoints" / "latest_checkpointed_iteration.txt"
    with open(work / "resume_first.log", "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 600
        while not tracker.is_file() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        # the job and every process under it, as SLURM's cgroup kill does: torchrun's trainers are not all in
        # the job's process group (a killpg leaves one training on beside the next attempt)
        job = psutil.Process(proc.pid)
        tree = [job, *job.children(recursive=True)]
        for p in tree:
            p.send_signal(signal.SIGKILL)
        killed_at = int(tracker.read_text()) if tracker.is_file() else None
        psutil.wait_procs(tree, timeout=60)
        proc.wait()
    if killed_at is None or killed_at >= 8:
        raise AssertionError(f"the first attempt was not stopped between saves (tracker {killed_at})")
    _run(cmd, work / "resume_second.log")
    details = check_run(run_dir, 8)
    attempts = sorted(run_dir.glob("metrics.attempt-*.jsonl"))
    first, second = ([json.loads(line)["step"] for line in a.read_text().splitlines() if line.strip()]
                     for a in (attempts[0], attempts[-1]))
    if first and first[-1] > killed_at + 1:
        raise AssertionError(f"the killed attempt logged steps {first}: a trainer lived on after the kill")
    if len(attempts) != 2 or second[0] != killed_at + 1:
        raise AssertionError(f"attempts {len(attempts)}; the second started at step {second[:1]}, saved {killed_at}")
    return {**details, "killed_after_save": killed_at, "second_attempt_steps": second}


def load_export(work: Path, device: str) -> dict:
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(work / "sft" / "curiosft" / "model", dtype=dtype).to(device)
    ids = torch.arange(1, 33, device=device)[None]
    logits = model(ids).logits
    if not torch.isfinite(logits).all():
        raise AssertionError("non-finite logits from the exported model")
    return {"dtype": str(logits.dtype), "device": str(logits.device), "vocab": logits.shape[-1]}


def evaluate(results: Path, work: Path, device: str) -> dict:
    out = work / "eval" / "tiny_id.jsonl"
    log = work / "eval.log"
    _run(_cli("eval", "--model", str(work / "sft" / "curiosft" / "model"), "--benchmark", "tiny_id", "--data",
              str(results / "world" / "data" / "test_id.parquet"), "--out", str(out), "--checkpoint",
              "sft/method~curiosft/schedule~entropy_guided/seed~1", "experiment=smoke", f"paths.results={results}",
              "eval.backend=hf", "eval.limit=16", "eval.n_samples=2"), log)
    text = log.read_text()
    summary = json.loads(text[text.rindex('{\n  "benchmark"'):])
    records = out.read_text().splitlines()
    if len(records) != 32 or not summary["device"].startswith(device):
        raise AssertionError(f"{len(records)} records; generated on {summary['device']}, expected {device}")
    return summary


def main(out: Path, device: str, work: Path | None = None) -> dict:
    """`out`: where gpu_check.json goes; `work`: the runs, checkpoints and logs (default out/work)."""
    out.mkdir(parents=True, exist_ok=True)
    work = work or out / "work"
    results = work / "results"
    check = Check(out / "gpu_check.json", device)
    check.step("build the smoke world (data, tokenizer, 30-step base model)", build_world, results)
    for method, schedule in METHODS:
        check.step(f"sft {method}: 4 steps, FSDP2, {'bf16' if device == 'cuda' else 'fp32'} on {device}",
                   train, results, work, method, schedule, device)
    check.step("resume: curiosft SIGKILLed after a save, started again", resume, results, work, device)
    check.step("load the HF export and run a forward pass", load_export, work, device)
    check.step("hf evaluation (curiosft eval, 16 prompts x 2 samples)", evaluate, results, work, device)
    check.report["passed"] = True
    check.write()
    return check.report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for gpu_check.json, logs and runs")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    report = main(parser.parse_args().out, parser.parse_args().device)
    print(json.dumps({k: report[k] for k in ("device", "passed", "total_seconds")}))
