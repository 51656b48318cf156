"""Prepare a registered data set: read its source rows, convert, settle the golds, write parquet and a manifest.

Golds are settled here, once: code-written ones become LaTeX (curiosft.scoring.golds.normalize_gold), and each
math gold is parsed by the default grader; the rows it cannot compare by value (compared as text only) are
listed per file in the manifest's `golds` section, and named on stderr.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from curiosft.data.converters import CONVERTERS
from curiosft.data.fetch import read_hub, read_local
from curiosft.data.registry import get_spec
from curiosft.io import write_json, write_parquet
from curiosft.scoring import ScoringPool
from curiosft.scoring.golds import normalize_gold


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _gold_of(record: dict) -> tuple[dict, str] | None:
    """(the dict holding the record's math gold, its key); None for a multiple-choice row (its gold is a letter)."""
    if "reward_model" in record:
        return (record["reward_model"], "ground_truth") if record["ability"] == "math" else None
    return (record, "ground_truth") if record.get("ground_truth") else None


def settle_golds(records: list[dict], progress: bool = False) -> dict | None:
    """Normalise the records' code-written math golds in place and check that the default grader parses each one
    whole. Returns {"rows", "normalised": [{"index", "from", "to"}], "unparsed": [{"index", "ground_truth",
    "problem"}]} for a file with math golds (None otherwise); `index` is the row's position in the file."""
    holders = [(i, found) for i, record in enumerate(records) if (found := _gold_of(record)) is not None]
    if not holders:
        return None
    normalised = []
    for i, (holder, key) in holders:
        if (settled := normalize_gold(holder[key])) != holder[key]:
            normalised.append({"index": i, "from": holder[key], "to": settled})
            holder[key] = settled
    golds = [holder[key] for _, (holder, key) in holders]
    with ScoringPool() as pool:
        problems = pool.check_golds(golds, progress=progress)
    unparsed = [{"index": holders[j][0], "ground_truth": golds[j], "problem": problem}
                for j, problem in sorted(problems.items())]
    return {"rows": len(holders), "normalised": normalised, "unparsed": unparsed}


def prepare_dataset(name: str, out_dir: str | Path, *, local: str | None = None, revision: str | None = None,
                    limit: int | None = None, progress: bool = False) -> dict:
    """Write out_dir/<files>.parquet in the normalised schema plus out_dir/manifest.<name>.json (with the golds'
    report: settle_golds); returns the manifest."""
    spec = get_spec(name)
    if local:
        df, source = read_local(local), {"local": str(Path(local).resolve())}
    else:
        df, read_revision = read_hub(spec, revision)
        source = {"hub_id": spec.hub_id, "config": spec.config, "split": spec.split, "revision": read_revision}
    return _prepare(spec, df, source, out_dir, limit=limit, progress=progress)


def prepare_own_file(path: str | Path, out_dir: str | Path, *, name: str = "mine", question: str = "question",
                     solution: str = "solution", answer: str | None = None, limit: int | None = None,
                     progress: bool = False) -> dict:
    """Your own question/solution file (jsonl, json, parquet or csv) -> out_dir/sft_train.parquet (the
    project's system instruction, the question, the solution as the assistant turn) and rl_train.parquet (the
    question and its answer for the RL reward), plus out_dir/manifest.<name>.json. `answer`: the answer
    column (None: `answer` when the file has one, else each solution's last \\boxed{}). InputDataError naming
    the missing column (and the columns found) or the row."""
    from curiosft.data.registry import DatasetSpec

    df = read_local(path)
    if answer is None:
        answer = "answer" if "answer" in df.columns else ""
    spec = DatasetSpec(name, "train", hub_id=f"your file {Path(path).name}", layout="question_solution",
                       columns={"question": question, "solution": solution, "answer": answer},
                       description="your own question/solution file")
    return _prepare(spec, df, {"local": str(Path(path).resolve()), "columns": dict(spec.columns)}, out_dir,
                    limit=limit, progress=progress)


def _prepare(spec, df, source: dict, out_dir: str | Path, *, limit: int | None, progress: bool) -> dict:
    out_dir = Path(out_dir)
    if spec.rows is not None:  # a registered split of the source (e.g. MATH-500's rows 100-499)
        df = df.iloc[spec.rows[0]:spec.rows[1]].reset_index(drop=True)
        source = {**source, "rows": list(spec.rows)}
    if limit:
        df = df.head(limit)
    outputs = CONVERTERS[spec.layout](df, spec)
    golds = {file_name: settle_golds(records, progress=progress) for file_name, records in outputs.items()}
    files = {}
    for file_name, records in outputs.items():
        path = out_dir / file_name
        write_parquet(path, records)
        files[file_name] = {"rows": len(records), "sha256": _sha256(path)}
    manifest = {"name": spec.name, "kind": spec.kind, "layout": spec.layout, "source": source, "files": files,
                "golds": {name: report for name, report in golds.items() if report is not None}}
    write_json(out_dir / f"manifest.{spec.name}.json", manifest)
    return manifest
