"""Make the real-output grading set (tests/data/grading_real/): SmolLM2-135M-Instruct answers real MATH-500 and
ARC-Challenge prompts, written without any verdict so that a reviewer labels them blind (issue 28).

    python benchmarks/grading_real_set.py            # ~40 min on 2 cores (vLLM on CPU; hf would take ~3 h)
    python benchmarks/grading_real_set.py --out /tmp/set --math 8 --arc 4    # a quick look

What it runs: `curiosft eval` (the evaluation stage itself: the model's real chat template, the benchmarks'
prompts and choice shuffling, eval.temperature 0.6, top_p 0.95) on the first `--math` MATH-500 and the first
`--arc` ARC-Challenge rows of ../shared/realdata, 2 samples each, in the vLLM environment (`make vllm-env`).
Everything the grader decided (score, extracted answer, reason, answer class, grader name) is dropped before
the responses are written, so `responses.jsonl` holds only what a reviewer needs: the question, its options,
the gold and the response. The labels live beside it in `labels.jsonl` (written by the reviewer, not here).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"
OUT = ROOT / "tests" / "data" / "grading_real"


def questions(parquet: Path) -> dict[str, str]:
    """prompt_id -> the user message as the model saw it (choices in the file's order; the record's `choices`
    give the shuffled order the model was shown)."""
    import pandas as pd

    frame = pd.read_parquet(parquet)
    return {str(int(row["extra_info"]["index"])): str(row["extra_info"].get("question") or row["prompt"][-1]["content"])
            for _, row in frame.iterrows()}


def generate(benchmark: str, limit: int, work: Path, max_new_tokens: int) -> list[dict]:
    from curiosft.assets import smollm2_model_dir
    from curiosft.data.prepare import prepare_dataset
    from curiosft.vllm_env import vllm_python

    prepare_dataset(benchmark, work, local=str(REALDATA / benchmark / "test.jsonl"), limit=limit)
    out = work / f"{benchmark}.jsonl"
    cmd = [str(vllm_python()), "-m", "curiosft.cli", "eval", "--model", str(smollm2_model_dir()), "--benchmark", benchmark,
           "--data", str(work / f"{benchmark}.parquet"), "--checkpoint", "base", "--out", str(out), "--threads", "2",
           "experiment=tiny", "eval.backend=vllm", "eval.n_samples=2", "eval.dtype=float32",
           f"eval.max_new_tokens={max_new_tokens}", "data.max_prompt_length=1024"]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return [json.loads(line) for line in out.read_text().splitlines()]


def blind(records: list[dict], asked: dict[str, str]) -> list[dict]:
    """Each record as the reviewer sees it: only the keys below, so nothing the grader decided (score, extracted
    answer, reason, answer class, grader) is copied (tests/test_grading_real.py checks the file)."""
    rows = []
    for r in records:
        rows.append({"id": f"{r['benchmark']}-{r['prompt_id']}-{r['sample']}", "benchmark": r["benchmark"], "kind": r["kind"],
               "prompt_id": r["prompt_id"], "sample": r["sample"], "question": asked.get(str(r["prompt_id"])),
               "choices": r["choices"], "ground_truth": r["ground_truth"], "response": r["response"],
               "finish_reason": r["finish_reason"], "response_length": r["response_length"]})
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--math", type=int, default=200, help="MATH-500 prompts (the file's first rows)")
    ap.add_argument("--arc", type=int, default=100, help="ARC-Challenge prompts (the file's first rows)")
    ap.add_argument("--max-new-tokens", type=int, default=512)
    args = ap.parse_args(argv)
    if not REALDATA.is_dir():
        sys.exit(f"no real data at {REALDATA}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for benchmark, limit in (("math500", args.math), ("arc_challenge", args.arc)):
            work = Path(tmp) / benchmark
            records = generate(benchmark, limit, work, args.max_new_tokens)
            rows += blind(records, questions(work / f"{benchmark}.parquet"))
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "responses.jsonl"
    part = target.with_suffix(".jsonl.part")
    part.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    part.replace(target)
    print(f"{len(rows)} responses -> {target}")


if __name__ == "__main__":
    main()
