"""What a job reads, per stage (each stage's `inputs` in the stage table, curiosft.stages): the checkpoint
its outputs belong to, and per output its benchmark (evaluations) and the input files and folders the
manifest lists and the fingerprint hashes.

    inputs(cfg, outputs, kwargs) -> (checkpoint, [(benchmark or None, {name: path}), ...])  one per output

`cfg`: the resolved config (plain containers); `kwargs`: the job's keyword arguments.
"""

from __future__ import annotations

from curiosft.runid import RunId, parse_checkpoint


def _run(stage: str, cfg: dict) -> str:
    return RunId(stage, cfg["method"]["name"], cfg["schedule"]["name"], int(cfg["seed"])).checkpoint


def sft_inputs(cfg: dict, outputs: list[str], kwargs: dict):
    """An SFT run: the base model and the SFT data."""
    return _run("sft", cfg), [(None, {"model": cfg["model"]["path"], "data": cfg["data"]["sft_train"]})]


def rl_inputs(cfg: dict, outputs: list[str], kwargs: dict):
    """A GRPO run: the SFT model it starts from and the RL prompts."""
    return _run("rl", cfg), [(None, {"model": kwargs["sft_model"], "data": cfg["data"]["rl_train"]})]


def eval_inputs(cfg: dict, outputs: list[str], kwargs: dict):
    """An evaluation: the checkpoint's model (or each saved step's, for a curve), and per records file its
    benchmark's parquet."""
    from curiosft.evaluation.run import evaluated_benchmarks, evaluated_models

    models = evaluated_models(kwargs["model_dir"], kwargs["checkpoint"])
    benchmarks = evaluated_benchmarks(kwargs["benchmark"], kwargs["data_file"], outputs)
    if len(models) == 1:
        checkpoint, model_inputs = models[0][0], {"model": models[0][1]}
    else:  # a run's saved steps in one job (evaluation over training): the run, and each step's model
        checkpoint = parse_checkpoint(models[0][0])[0].checkpoint
        model_inputs = {f"model {name}": model for name, model in models}
    return checkpoint, [(name, {**model_inputs, "benchmark": data}) for name, data, _ in benchmarks]
