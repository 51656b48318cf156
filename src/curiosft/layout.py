"""Where every output of the workflow lies: the one spelling of each path, beside RunId (the run's name).

    layout = Layout("results", "results/world", "results/data")      # Layout.of_config(cfg): paths.*
    layout.run_dir("sft/method~sft/schedule~none/seed~1")            -> results/sft/method~sft/...
    layout.model("rl/method~sft/schedule~none/seed~1/step~4")        -> .../checkpoints/global_step_4/actor/huggingface
    layout.eval_records("base", "tiny_id")                           -> results/eval/base/tiny_id.jsonl

Every method takes a checkpoint or run name as text (RunId.checkpoint, or a Snakemake pattern such as
`sft/{RUN}` / `{checkpoint}`), so the workflow's rules and its input functions spell paths the same way.
A run folder's own contents (checkpoints, attempts' metrics, the export) are curiosft.runs'.

    <results>/<stage>/<run>/               a training run (curiosft.runs): model/, metrics.jsonl, checkpoints/
    <results>/eval/<checkpoint>/<b>.jsonl  a checkpoint's records on benchmark b (manifest beside it)
    <results>/curves/<stage>/<run>/<b>.jsonl  a run's saved steps on b (eval.curve)
    <results>/select/<stage>/<run>.json    the run's best step (eval.select)
    <results>/paper/{tables,figures}/      the report
    <results>/logs/                        one log per job
    <world>/                               the tiny world: data/, tokenizer/, model/, base_model.json
    <data>/<set>/, <data>/benchmarks/      prepared training sets and benchmarks
"""

from __future__ import annotations

from dataclasses import dataclass

from curiosft.benchmarks import get_benchmark
from curiosft.runid import parse_checkpoint
from curiosft.runs import HF_SUBDIRS, METRICS

BASE = "base"


@dataclass(frozen=True)
class Layout:
    results: str
    world: str
    data: str

    @classmethod
    def of_config(cls, cfg) -> Layout:
        """The layout of a composed config (paths.results, paths.world, paths.data)."""
        return cls(str(cfg.paths.results), str(cfg.paths.world), str(cfg.paths.data))

    @property
    def logs(self) -> str:
        return f"{self.results}/logs"

    @property
    def paper(self) -> str:
        return f"{self.results}/paper"

    def run_dir(self, run: str) -> str:
        """A training run's folder; `run`: its checkpoint name (`sft/<run path>`)."""
        return f"{self.results}/{run}"

    def metrics(self, run: str) -> str:
        """A training run's merged metrics (written after its last save)."""
        return f"{self.run_dir(run)}/{METRICS}"

    def final_model(self, run: str) -> str:
        """A training run's exported final model."""
        return f"{self.run_dir(run)}/model"

    def model(self, checkpoint: str) -> str:
        """The Hugging Face model folder of a checkpoint: the tiny world's base model, a run's final model, or
        the export inside a checkpoint saved at a step (verl's global_step_N; curiosft.runs.HF_SUBDIRS)."""
        if checkpoint == BASE:
            return f"{self.world}/model"
        run, step = parse_checkpoint(checkpoint)
        if step is None:
            return self.final_model(checkpoint)
        return f"{self.run_dir(run.checkpoint)}/checkpoints/global_step_{step}/{HF_SUBDIRS[run.stage]}"

    def eval_records(self, checkpoint: str, benchmark: str) -> str:
        return f"{self.results}/eval/{checkpoint}/{benchmark}.jsonl"

    def curve_records(self, run: str, benchmark: str) -> str:
        """A run's records over training on `benchmark` (every evaluated step in one file)."""
        return f"{self.results}/curves/{run}/{benchmark}.jsonl"

    def selection(self, run: str) -> str:
        return f"{self.results}/select/{run}.json"

    def benchmark_file(self, name: str) -> str:
        """A benchmark's parquet: built by the tiny world, or prepared from the hub (its record)."""
        benchmark = get_benchmark(name)
        if benchmark.world_file:
            return self.world_data(benchmark.world_file)
        return f"{self.data}/benchmarks/{name}.parquet"

    def world_data(self, name: str) -> str:
        """A file of the tiny world's data (curiosft.world.data.WORLD_DATA_FILES)."""
        return f"{self.world}/data/{name}"

    @property
    def world_tokenizer(self) -> str:
        return f"{self.world}/tokenizer"

    @property
    def world_report(self) -> str:
        """The base model's pretraining report (steps, seconds, greedy accuracy)."""
        return f"{self.world}/base_model.json"

    def benchmark_file_pattern(self) -> str:
        """The prepared benchmarks' files, with Snakemake's {benchmark} wildcard."""
        return f"{self.data}/benchmarks/{{benchmark}}.parquet"

    def training_data(self, dataset: str) -> tuple[str, str]:
        """A prepared training set's SFT and RL files."""
        return f"{self.data}/{dataset}/sft_train.parquet", f"{self.data}/{dataset}/rl_train.parquet"

    def made_by_workflow(self, path: str) -> bool:
        """Whether a rule writes `path`: the tiny world's files and the prepared data sets (not your own)."""
        return any(str(path).startswith(f"{root}/") for root in (self.world, self.data))

    def log(self, *parts: str) -> str:
        """A job's log: `log("sft", run_path)` -> <results>/logs/sft/<run path>.log."""
        return f"{self.logs}/{'/'.join(parts)}.log"

