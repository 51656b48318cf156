# Shared set-up: validate the config, compose the Hydra config once, expand the sweep, helpers.
import shlex
import shutil
import sys

from omegaconf import OmegaConf
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from pathlib import Path

from curiosft.errors import CuriosftError
from curiosft.config import group_options
from curiosft.config.cache import composed_experiment
from curiosft.config.schema import schedule_names
from curiosft.benchmarks import benchmark_names, get_benchmark
from curiosft.data.registry import TRAINING_SETS, check_local_data, hub_benchmarks
from curiosft.methods import method_names
from curiosft.config.schema.eval import SPLITS, parse_select
from curiosft.layout import Layout
from curiosft.preflight import check_model_folder, looks_like_hub_id, settings_warnings
from curiosft.runid import RUN_PATTERN, WILDCARD_CONSTRAINTS, RunId, parse_checkpoint
from curiosft.runs import HF_SUBDIRS, every_kth, saved_steps
from curiosft.stages import get_stage, overrides_for, training_stages, unread_overrides
from curiosft.sweep import runs_of

if "sweeps" in config:
    raise WorkflowError(
        "config `sweeps` is gone: each experiment's sweep lives in its Hydra file "
        "(conf/experiment/<name>.yaml, section `sweep`); change it there or with "
        "--config 'overrides=[sweep.seeds=[1]]'"
    )
validate(config, schema="../schemas/config.schema.yaml")

EXPERIMENT = config["experiment"]
if EXPERIMENT not in group_options("experiment"):
    raise WorkflowError(
        f"experiment {EXPERIMENT!r} is not a Hydra experiment; choose one of {', '.join(group_options('experiment'))}"
    )

# Every job composes the same Hydra experiment plus the user's overrides (the launcher first, so that an
# override like launcher.partition=gpu applies to it).
HYDRA_OVERRIDES = [
    f"experiment={EXPERIMENT}",
    *([f"launcher={config['launcher']}"] if config.get("launcher") else []),
    *config.get("overrides", []),
]
# an override no job reads would be dropped from every job's command: say so before any job
if unread := unread_overrides(HYDRA_OVERRIDES):
    raise WorkflowError(
        f"overrides {unread} are read by no job of the workflow (curiosft.stages: each stage's config "
        "sections); check the key, or set it in the experiment file"
    )
try:
    check_local_data(config.get("local_data", {}))
    # the experiment's config and its sweep (the `sweep` section of its Hydra file); fails here, before any
    # job starts, if one run of the sweep does not compose; each method x schedule (with its overrides) is
    # composed once, and only when the config tree or the overrides changed (curiosft.config.cache)
    CFG = composed_experiment(HYDRA_OVERRIDES, ".snakemake/curiosft")
    SWEEP = OmegaConf.to_container(CFG.sweep, resolve=True)
    RUNS = runs_of(SWEEP)
except CuriosftError as exc:
    raise WorkflowError(f"invalid sweep {EXPERIMENT!r}: {exc}") from None

# tiny-world settings on a pretrained model (learning rate, answer length, the tiny test sets): said once here
for warning in settings_warnings(CFG):
    print(f"curiosft: warning: {warning}", file=sys.stderr)

# the RL reward against what SFT teaches (a </think> the demonstrations never write pays 0 on every rollout)
try:
    from curiosft.preflight import check_reward_format

    check_reward_format(CFG)
except CuriosftError as exc:
    raise WorkflowError(f"invalid sweep {EXPERIMENT!r}: {exc}") from None

# where every output lies (curiosft.layout: the one spelling of each path)
LAYOUT = Layout.of_config(CFG)
PAPER = LAYOUT.paper
# what the tables and figures rules write (curiosft.report.build)
TABLES = ["in_distribution", "out_of_distribution", "post_rl", "pass_at_k"]
FIGURES = [
    "training_entropy",
    "eval_entropy",
    "pass_at_k",
    "rl_curves",
    *(["accuracy_over_training"] if int(CFG.eval.curve.every) else []),
]

# The software environment of every rule (used with --use-conda; otherwise the current one).
ENV = "../../environment.yml"

# The CLI of the environment snakemake runs in (no reliance on PATH).
CURIOSFT = f"{shlex.quote(sys.executable)} -m curiosft.cli"


def stage_overrides_arg(stage):
    """The Hydra overrides a stage's jobs get: those of the config sections the stage reads (one declaration,
    curiosft.stages, which also decides the fingerprint of its outputs). Snakemake re-runs a job when its
    params change, so a trainer key re-runs the SFT training (and what follows), an eval key only the
    evaluations, a scoring key the RL jobs (their reward) and the evaluations; none rebuilds the world."""
    return shlex.join(overrides_for(stage, HYDRA_OVERRIDES))


WORLD_OVERRIDES_ARG = stage_overrides_arg("world")
SFT_OVERRIDES_ARG = stage_overrides_arg("sft")
RL_OVERRIDES_ARG = stage_overrides_arg("rl")
EVAL_OVERRIDES_ARG = stage_overrides_arg("eval")
CURVE_OVERRIDES_ARG = stage_overrides_arg("eval_curve")

ON_SLURM = CFG.launcher.name == "slurm"

METHODS = method_names()
SCHEDULES = schedule_names(with_none=True)
# a run's folder below results/<stage>/ (curiosft.runid), with the wildcards method, schedule, seed
RUN = RUN_PATTERN


# every rule's wildcards mean the same thing (one definition)
wildcard_constraints:
    method="|".join(METHODS),
    schedule="|".join(SCHEDULES),
    seed=WILDCARD_CONSTRAINTS["seed"],
    checkpoint=WILDCARD_CONSTRAINTS["checkpoint"],
    benchmark="|".join(benchmark_names()),
    stage="|".join(training_stages()),
    step=WILDCARD_CONSTRAINTS["step"],


# each stage's threads, GPUs, Python and SLURM request (curiosft.resources, declared in the stage table)
try:
    RESOURCES = {
        name: get_stage(name).job_resources(CFG, sys.executable) for name in ("world", "sft", "rl", "eval")
    }
except CuriosftError as exc:
    raise WorkflowError(str(exc)) from None


def world_params():
    """The tiny world's config: a change to it re-runs the world rules (params are a rerun trigger)."""
    return OmegaConf.to_container(CFG.world, resolve=True)


def benchmark_file(name):
    """A benchmark's parquet: built by the tiny world, or prepared from the hub (its record, curiosft.benchmarks)."""
    try:
        return LAYOUT.benchmark_file(name)
    except CuriosftError as exc:
        raise WorkflowError(f"{exc} (eval.benchmarks)") from None


def training_data_files():
    """The SFT and RL files of the experiment's data set (built by the world or prepare rules, or yours)."""
    return [CFG.data.sft_train, CFG.data.rl_train]


# What the workflow builds and what you bring: the tiny world's model and data are built only when the
# config points at them (model.path, data.*, a tiny benchmark); your own model folder and data files are
# checked here, before any job (curiosft.preflight; a hub id when the jobs start, onstart).
BASE_MODEL = str(CFG.model.path)
BUILDS_BASE_MODEL = BASE_MODEL == LAYOUT.model("base")
# the base model is evaluated (the tables' first row) when it is a folder: built here or yours
EVALUATES_BASE = BUILDS_BASE_MODEL or not looks_like_hub_id(BASE_MODEL) or Path(BASE_MODEL).is_dir()
try:
    if not BUILDS_BASE_MODEL and (Path(BASE_MODEL).exists() or not looks_like_hub_id(BASE_MODEL)):
        check_model_folder(BASE_MODEL)
    for key, path in (("data.sft_train", CFG.data.sft_train), ("data.rl_train", CFG.data.rl_train)):
        if not LAYOUT.made_by_workflow(path) and not Path(path).is_file():
            raise CuriosftError(
                f"{key}={path}: no such file, and no rule of the workflow makes it; point {key} at your parquet "
                "(curiosft prepare-data --from-file converts a question/solution file; docs/real_data.md)"
            )
except CuriosftError as exc:
    raise WorkflowError(f"invalid sweep {EXPERIMENT!r}: {exc}") from None


def sft_inputs(wildcards):
    """The SFT data, and the base model when the workflow builds it (your folder or a hub id is no rule's
    output)."""
    inputs = {"data": CFG.data.sft_train}
    if BUILDS_BASE_MODEL:
        inputs["base_model"] = LAYOUT.model("base")
    return inputs


def method_overrides_arg(stage):
    """The sweep's extra overrides for a run's method (the experiment's sweep.method_overrides) that
    `stage` reads: a function of the rule's wildcards."""

    def arg(wildcards):
        overrides = SWEEP["method_overrides"].get(wildcards.method, [])
        return shlex.join(overrides_for(stage, overrides))

    return arg


def sft_outputs():
    return [LAYOUT.metrics(run.run_id("sft").checkpoint) for run in RUNS]


def rl_outputs():
    return [LAYOUT.metrics(run.run_id("rl").checkpoint) for run in RUNS]


def eval_checkpoints():
    """What is evaluated: the base model when the workflow builds it (the tiny world), every SFT run and
    the RL run that continues it."""
    base = ["base"] if EVALUATES_BASE else []
    return base + [run.run_id(stage).checkpoint for stage in training_stages() for run in RUNS]


def eval_outputs():
    return [LAYOUT.eval_records(c, b) for c in eval_checkpoints() for b in CFG.eval.benchmarks]


def checkpoint_model(checkpoint):
    """The Hugging Face model folder of a checkpoint: the base model (model.path), or (curiosft.layout) a run's
    final model or the export inside a checkpoint saved at a step."""
    return BASE_MODEL if checkpoint == "base" else LAYOUT.model(checkpoint)


def eval_inputs(wildcards):
    """The checkpoint's Hugging Face model folder (for a step: the run's metrics, written after its last
    save) and every benchmark's parquet, in eval.benchmarks' order."""
    run, step = (None, None) if wildcards.checkpoint == "base" else parse_checkpoint(wildcards.checkpoint)
    model = checkpoint_model(wildcards.checkpoint) if step is None else LAYOUT.metrics(run.checkpoint)
    return {"model": model, "data": [benchmark_file(b) for b in CFG.eval.benchmarks]}


# Evaluation over training (eval.curve; docs/evaluation.md "Over training"): the sft and rl rules are
# Snakemake checkpoints, so once a run has finished its saved steps are listed and each adds its own curve
# jobs (a longer run adds only the new steps' jobs).
CURVE_EVERY = int(CFG.eval.curve.every)
CURVE_BENCHMARKS = list(CFG.eval.curve.benchmarks) or list(CFG.eval.benchmarks)
try:
    SELECT_BY = parse_select(str(CFG.eval.select))
except CuriosftError as exc:
    raise WorkflowError(str(exc)) from None
if SELECT_BY in SPLITS and not any(get_benchmark(b).split == SELECT_BY for b in CURVE_BENCHMARKS):
    raise WorkflowError(
        f"eval.select={CFG.eval.select}: no {SELECT_BY} benchmark among the curve benchmarks "
        f"{CURVE_BENCHMARKS}; add one to eval.curve.benchmarks"
    )


def curve_steps(run_id):
    """The steps of a finished run that the curves evaluate (every eval.curve.every-th saved one, and the last)."""
    training = getattr(checkpoints, run_id.stage)
    metrics = training.get(method=run_id.method, schedule=run_id.schedule, seed=run_id.seed).output.metrics
    return every_kth(saved_steps(Path(metrics).parent, HF_SUBDIRS[run_id.stage]), CURVE_EVERY)


def curve_records_of(run_id):
    """A run's records over training: one file per curve benchmark, every evaluated step in it."""
    return [LAYOUT.curve_records(run_id.checkpoint, b) for b in CURVE_BENCHMARKS]


def wildcards_run(wildcards):
    return RunId(wildcards.stage, wildcards.method, wildcards.schedule, int(wildcards.seed))


def curve_checkpoints(wildcards):
    """The checkpoint names of the steps the run's curve evaluates (known once the run has finished)."""
    run_id = wildcards_run(wildcards)
    return [run_id.checkpoint_at(step) for step in curve_steps(run_id)]


def curve_models(wildcards):
    """The Hugging Face model folders of those steps, in the same order."""
    return [checkpoint_model(c) for c in curve_checkpoints(wildcards)]


def trained_runs():
    return [run.run_id(stage) for stage in training_stages() for run in RUNS]


def curve_records(wildcards):
    return [f for run_id in trained_runs() for f in curve_records_of(run_id)] if CURVE_EVERY else []


def run_curve_records(wildcards):
    """The curve records of the run named by the wildcards (stage, method, schedule, seed)."""
    return curve_records_of(wildcards_run(wildcards))


def selected_checkpoint(run_id):
    """The checkpoint whose evaluation the tables report for a run: its final model (eval.select=last, or the
    best step is the last), or the best step that the select rule wrote."""
    if SELECT_BY is None:
        return run_id.checkpoint
    import json

    selection = checkpoints.select.get(
        stage=run_id.stage, method=run_id.method, schedule=run_id.schedule, seed=run_id.seed
    ).output[0]
    choice = json.loads(Path(selection).read_text())
    return (
        run_id.checkpoint if choice["step"] == choice["last_step"] else run_id.checkpoint_at(choice["step"])
    )


def table_records(wildcards):
    """The records the tables report: the base model and, per run, its selected checkpoint on every benchmark."""
    checkpoints_ = (["base"] if EVALUATES_BASE else []) + [selected_checkpoint(r) for r in trained_runs()]
    return [LAYOUT.eval_records(c, b) for c in checkpoints_ for b in CFG.eval.benchmarks]


def selections(wildcards):
    return [LAYOUT.selection(r.checkpoint) for r in trained_runs()] if SELECT_BY is not None else []


def report_tables():
    """Every table as HTML, flagged for `snakemake --report` (category Tables, caption workflow/report/tables/)."""
    names = [*TABLES, "significance", "runs", "cost"]
    flagged = report  # snakemake's report(); a line starting with `report(` would read as its directive
    return [
        flagged(
            f"{PAPER}/tables/{name}.html",
            caption=f"../report/tables/{name}.rst",
            category="Tables",
            labels={"table": name},
        )
        for name in names
    ]


def paper_outputs():
    return [*rules.tables.output, *rules.figures.output]


def all_targets(wildcards):
    targets = [*training_data_files(), *(benchmark_file(b) for b in CFG.eval.benchmarks)]
    if BUILDS_BASE_MODEL:
        targets.append(LAYOUT.world_report)
    return targets + sft_outputs() + rl_outputs() + eval_outputs() + paper_outputs()


def local_data_arg(wildcards):
    """`--local PATH` when config local_data names a file for this data set."""
    name = wildcards.get("dataset") or wildcards.get("benchmark")
    path = config.get("local_data", {}).get(name)
    return f"--local {shlex.quote(path)}" if path else ""


def check_before_jobs():
    """Before any job runs (the Snakefile's onstart, which dry runs skip: they queue nothing): a hub model id
    is in the local cache or downloadable from here; on a login node (sinfo on PATH) the SLURM request
    against the cluster."""
    from curiosft.preflight import check_model_path

    try:
        if not BUILDS_BASE_MODEL:
            check_model_path(BASE_MODEL)
        if ON_SLURM and shutil.which("sinfo"):
            from curiosft.launcher.slurm import validate_request

            validate_request(CFG.launcher)
    except CuriosftError as exc:
        raise WorkflowError(str(exc)) from None
