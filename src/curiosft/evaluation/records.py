"""Per-sample evaluation records: one JSON line per prompt x sample, the source of truth of every table.

Layout: results/eval/<checkpoint>/<benchmark>.jsonl, where <checkpoint> is a run's checkpoint name
(curiosft.runid: `base`, `sft/method~M/schedule~S/seed~N` or `rl/...`, `.../step~K` for a checkpoint saved
during training); results/curves/<stage>/<run>/<benchmark>.jsonl for the evaluation over training
(eval.curve's protocol: every evaluated step of the run in one file). Every record carries the run's stage,
method, schedule, seed and step as fields.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa

from curiosft.errors import InputDataError
from curiosft.io import atomic_path

# field -> arrow type; the reader enforces these (an answer "3.2e-5" stays a string)
SCHEMA = pa.schema([
    ("checkpoint", pa.string()),   # run path: base | sft/method~../schedule~../seed~.. | rl/...
    ("stage", pa.string()),        # base | sft | rl
    ("method", pa.string()),
    ("schedule", pa.string()),
    ("seed", pa.int64()),
    ("step", pa.int64()),          # the training step of the weights (null: not known, e.g. the base model)
    ("benchmark", pa.string()),
    ("split", pa.string()),        # id | ood
    ("kind", pa.string()),         # math | multiple_choice
    ("prompt_id", pa.int64()),
    ("sample", pa.int64()),
    ("n_samples", pa.int64()),
    ("temperature", pa.float64()),
    ("top_p", pa.float64()),
    ("top_k", pa.int64()),         # null: no top-k truncation
    ("backend", pa.string()),      # eval.backend that sampled the response: hf | vllm (null: not recorded)
    ("ground_truth", pa.string()),
    ("response", pa.string()),
    ("extracted", pa.string()),
    # maj@n's vote: the first sample of the prompt whose answer the grader finds equivalent (null: no answer)
    ("answer_class", pa.int64()),
    ("score", pa.float64()),
    ("reason", pa.string()),
    ("response_length", pa.int64()),
    ("finish_reason", pa.string()),  # stop (end-of-turn / eos token) | length (max_new_tokens reached)
    ("mean_entropy", pa.float64()),
    ("choice_order", pa.list_(pa.int64())),
    ("choices", pa.list_(pa.string())),  # multiple choice: the option texts as shown (null for math)
    ("grader", pa.string()),             # curiosft.scoring.graders: the grader's name ...
    ("grader_version", pa.string()),     # ... and version (a change that can flip a verdict bumps it)
    # the evaluation protocol (curiosft.protocols.protocol_label): a preset's name, with any changed key
    ("protocol", pa.string()),
])
FIELDS = tuple(SCHEMA.names)
# null allowed: no answer found, no top-k; math records have no choices; records written before graders had
# names lack the grader (they were graded by what is now the `release` grader); records written before steps
# were recorded lack the step; drawn records (curiosft.evaluation.synthetic) and records written before the
# backend was recorded lack the backend; records written before maj@n voted by equivalence lack the answer class;
# records written before protocols were named lack the protocol
NULLABLE = ("extracted", "answer_class", "top_k", "choices", "grader", "grader_version", "step", "backend",
            "protocol")
# what the metrics need (reading skips the response text)
METRIC_FIELDS = ("checkpoint", "stage", "method", "schedule", "seed", "step", "benchmark", "split", "prompt_id",
                 "sample", "n_samples", "score", "extracted", "answer_class", "response_length", "mean_entropy",
                 "grader", "grader_version", "protocol")


class RecordsError(InputDataError):
    """A record file is missing, unreadable or not in the record schema."""


def write_records(path: str | os.PathLike, records: Iterable[dict]) -> int:
    """Write records as JSON lines, atomically; every record must have exactly the schema's fields."""
    count = 0
    with atomic_path(path) as tmp, open(tmp, "w") as out:
        for record in records:
            missing, extra = set(FIELDS) - set(record), set(record) - set(FIELDS)
            if missing or extra:
                raise ValueError(f"record {count} for {path}: missing fields {sorted(missing)}, unknown {sorted(extra)}")
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def _read_one(path: Path, columns: Sequence[str]) -> pa.Table:
    import pyarrow.json as pj

    if not path.is_file():
        raise RecordsError(f"record file {path} does not exist; run the evaluation that writes it "
                           f"(snakemake {path})")
    schema = pa.schema([SCHEMA.field(c) for c in columns])
    try:
        table = pj.read_json(path, parse_options=pj.ParseOptions(explicit_schema=schema,
                                                                 unexpected_field_behavior="ignore"),
                             read_options=pj.ReadOptions(block_size=16 << 20))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise RecordsError(f"record file {path} is corrupt ({str(exc).splitlines()[0]}); delete it and re-run "
                           f"its evaluation (snakemake {path})") from None
    if table.num_rows == 0:
        raise RecordsError(f"record file {path} is empty; delete it and re-run its evaluation")
    for name in columns:
        if name not in NULLABLE and table.column(name).null_count:
            raise RecordsError(f"record file {path}: {table.column(name).null_count} records lack field {name!r}; "
                               f"delete it and re-run its evaluation")
    return table


def read_records(paths: Iterable[str | os.PathLike], columns: Sequence[str] = METRIC_FIELDS):
    """All records of `paths` as one pandas DataFrame (only `columns`; all fields with columns=FIELDS)."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise RecordsError("no record files given")
    tables = [_read_one(p, columns) for p in paths]
    return pa.concat_tables(tables).to_pandas()


def check_one_grader(records, what: str = "the records") -> None:
    """RecordsError when records compared in one table were graded by different graders or versions (a
    re-run after a grader upgrade re-evaluates only what it re-runs): name them and the fix. Records from
    before graders had names were graded by what is now `release` 1."""
    if "grader" not in records:
        return
    tags = records["grader"].fillna("release").astype(str) + " " + records["grader_version"].fillna("1").astype(str)
    if tags.nunique() > 1:
        counts = tags.groupby(tags).size()
        by_checkpoint = records.groupby(tags)["checkpoint"].first()
        listed = "; ".join(f"{tag}: {n} records (e.g. {by_checkpoint[tag]})" for tag, n in counts.items())
        raise RecordsError(f"{what} were graded by more than one grader version ({listed}); grade them all with "
                           "one: `curiosft regrade <record files> --grader <name> --out <folder>`, or re-run the "
                           "older evaluations")


def check_one_protocol(records, what: str = "the records") -> dict[str, str]:
    """{benchmark: protocol} of records compared in one table; RecordsError when one benchmark's records
    come from more than one evaluation protocol (curiosft.protocols: a preset, or a preset with changed keys):
    a column must not mix them. Records from before protocols were named count as `unnamed`."""
    if "protocol" not in records:
        return {}
    protocols = records["protocol"].fillna("unnamed").astype(str)
    per_benchmark = protocols.groupby(records["benchmark"]).unique()
    mixed = {b: list(p) for b, p in per_benchmark.items() if len(p) > 1}
    if mixed:
        first = records.groupby([records["benchmark"], protocols])["checkpoint"].first()
        listed = "; ".join(f"{b}: " + ", ".join(f"{p} (e.g. {first[(b, p)]})" for p in ps) for b, ps in mixed.items())
        raise RecordsError(f"{what} put more than one evaluation protocol in one column ({listed}); evaluate every "
                           "checkpoint with one protocol (protocol=<name>, and no override of its keys), or "
                           "report them in separate tables")
    return {b: str(p[0]) for b, p in per_benchmark.items()}


def find_record_files(eval_root: str | os.PathLike) -> list[Path]:
    """Every record file under results/eval (for notebooks and ad-hoc use; the workflow lists its own)."""
    return sorted(Path(eval_root).rglob("*.jsonl"))
