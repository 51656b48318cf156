"""Checks every stage runs before it spends compute: before a SLURM job is submitted (`launch`) and again
in the job, before its first step. Each failure names the numbers and the fix.

- context length: the tokens a stage asks for (prompt + response) against the model's context
  (`max_position_embeddings` of its config.json, times a RoPE scaling factor where one is declared);
- SFT data: every demonstration measured with the model's tokenizer and chat template
  (curiosft.data.lengths); rows longer than data.max_prompt_length + data.max_response_length either
  stop the run at once (`data.overlong=error`) or are left out of it (`data.overlong=drop`): without
  this, verl's SFT dataset raises at the step that draws such a row, hours in;
- the RL reward's format against what SFT teaches: `rl.reward.format=rl` scores a response 0 unless it
  closes a `</think>` block, so the SFT demonstrations must (check_reward_format).
"""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import DictConfig

from curiosft.errors import ConfigError
from curiosft.io import atomic_path, write_json

KEPT_ROWS = "sft_train.kept.parquet"
LENGTHS = "data_lengths.json"


class PreflightError(ConfigError):
    """A run that would fail later (context length, overlong data); the message names the fix."""


def _config_file(model: str | Path) -> Path | None:
    """The model's config.json: in a local folder, or a hub id's copy in the local Hugging Face cache
    (no network: an uncached hub model is checked where it is downloaded, in the job)."""
    local = Path(model) / "config.json"
    if local.is_file():
        return local
    if Path(model).exists() or str(model).count("/") != 1:
        return None
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(str(model), "config.json")
    except ValueError:  # not a valid repo id
        return None
    return Path(cached) if isinstance(cached, str) else None


def model_context_length(model_dir: str | Path) -> int | None:
    """Positions the model was configured for, or None when its config.json cannot be read here."""
    config = _config_file(model_dir)
    if config is None:
        return None
    values = json.loads(config.read_text())
    values = values.get("text_config", values)
    positions = values.get("max_position_embeddings")
    if positions is None:
        return None
    scaling = values.get("rope_scaling") or {}
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind in ("yarn", "linear", "dynamic") and scaling.get("factor"):
        base = scaling.get("original_max_position_embeddings", positions)
        return max(int(positions), int(base * float(scaling["factor"])))
    return int(positions)


def check_context_length(model_dir: str | Path, needed: int, what: str) -> None:
    """Raise if `needed` tokens (described by `what`, e.g. the config keys summed) exceed the context."""
    context = model_context_length(model_dir)
    if context is not None and needed > context:
        raise PreflightError(
            f"{what} = {needed} tokens, but the model at {model_dir} has a context of {context} tokens "
            f"(max_position_embeddings in its config.json); lower them to fit, or use a longer-context "
            "variant of the model (the CurioSFT release trains a 16k-context Qwen2.5-Math-7B)")


def sft_token_limit(cfg: DictConfig) -> int:
    return int(cfg.data.max_prompt_length) + int(cfg.data.max_response_length)


def sft_responses(data_file: str | Path, limit: int = 200) -> list[str]:
    """The assistant turns of the first `limit` rows of an SFT parquet (curiosft.data.records.sft_record)."""
    import pyarrow.parquet as pq

    batch = next(pq.ParquetFile(data_file).iter_batches(batch_size=limit, columns=["messages"]), None)
    if batch is None:
        return []
    return [m["content"] for row in batch.column("messages").to_pylist() for m in row
            if m.get("role") == "assistant"]


def check_reward_format(cfg: DictConfig, *, sample: int = 200) -> None:
    """PreflightError when the RL reward requires a form the SFT demonstrations never teach.

    `rl.reward.format=rl` (the CurioSFT release's reward, METHODS "RL stage") grades only the text after a
    `</think>` and scores 0 without one. Trained on demonstrations without it (LIMO, the PSFT README's
    data), the model writes none and every rollout earns 0: GRPO's advantages are all 0 and RL changes
    nothing, with exit 0. Checked on the first `sample` rows of data.sft_train when the file exists (at least
    half must close a `</think>`: a chat template whose generation prompt opens `<think>` still needs the
    demonstrations to close it), else on the registered data set's `closes_thinking`."""
    from curiosft.scoring.pool import THINK_END

    if str(cfg.rl.reward.format) != "rl":
        return
    data_file = Path(str(cfg.data.sft_train))
    fix = ("set rl.reward.format=eval (the whole response graded, its last answer: the PSFT release's "
           f"reward), or train on demonstrations that close a {THINK_END} block")
    if data_file.is_file():
        responses = sft_responses(data_file, sample)
        closing = sum(THINK_END in r for r in responses)
        if responses and 2 * closing < len(responses):
            raise PreflightError(
                f"rl.reward.format=rl scores 0 without a {THINK_END} in the response, but {len(responses) - closing} "
                f"of the first {len(responses)} SFT demonstrations in {data_file} have none: every RL rollout "
                f"would earn reward 0; {fix}")
        return
    from curiosft.data.registry import TRAINING_SETS

    spec = TRAINING_SETS.get(str(cfg.data.name))
    if spec is not None and spec.closes_thinking is False:
        raise PreflightError(
            f"rl.reward.format=rl scores 0 without a {THINK_END} in the response, but the {spec.name} "
            f"demonstrations (data={spec.name}) have none: every RL rollout would earn reward 0; {fix}")


def check_sft_data(cfg: DictConfig, run_dir: str | Path | None = None, *, log=print) -> Path:
    """Measure the SFT rows; returns the parquet verl should train on. In a job (`run_dir` given) the
    length distribution is written to run_dir/data_lengths.json and, with data.overlong=drop, the rows
    that fit to run_dir/sft_train.kept.parquet."""
    from curiosft.data.lengths import measure_sft_lengths

    data_file = Path(cfg.data.sft_train)
    limit = sft_token_limit(cfg)
    report = measure_sft_lengths(data_file, cfg.model.path, progress=run_dir is not None)
    summary = report.summary(limit)
    log(f"SFT data: {report.describe(limit)}")
    over = [i for i, n in enumerate(report.lengths) if n > limit]
    if run_dir is not None:
        write_json(Path(run_dir) / LENGTHS, {**summary, "data_file": str(data_file), "policy": cfg.data.overlong,
                                             "overlong_rows": over})
    if not over:
        return data_file
    if cfg.data.overlong == "error":
        longest = max(range(report.rows), key=report.lengths.__getitem__)
        raise PreflightError(
            f"{len(over)} of {report.rows} SFT rows in {data_file} are longer than data.max_prompt_length + "
            f"data.max_response_length = {limit} tokens (the longest: row {longest}, {report.lengths[longest]} "
            "tokens); set data.overlong=drop to train without them, or raise data.max_response_length")
    log(f"SFT data: data.overlong=drop leaves out {len(over)} of {report.rows} rows longer than {limit} tokens")
    if run_dir is None:
        return data_file
    import pandas as pd

    frame = pd.read_parquet(data_file)
    kept = frame.drop(index=frame.index[over])
    if kept.empty:
        raise PreflightError(f"every SFT row of {data_file} is longer than {limit} tokens; raise "
                             "data.max_response_length")
    with atomic_path(Path(run_dir) / KEPT_ROWS) as tmp:
        kept.to_parquet(tmp, index=False)
    return Path(run_dir) / KEPT_ROWS


def check_rl_steps(cfg: DictConfig) -> None:
    """rl.max_steps within what rl.epochs over the RL prompts can give, from the parquet's row count (an upper
    bound: verl also drops the prompts over data.max_prompt_length, which the job counts exactly before it
    trains: curiosft.rl.prompts). ConfigError naming both numbers; skipped while the data is not there yet."""
    if not Path(cfg.data.rl_train).is_file():
        return
    import pyarrow.parquet as pq

    from curiosft.runs import check_steps_fit_the_data

    rl = cfg.rl
    rows = pq.ParquetFile(cfg.data.rl_train).metadata.num_rows
    check_steps_fit_the_data(rl.max_steps, rows // int(rl.batch_size), int(rl.epochs), "rl")


def preflight(stage: str, cfg: DictConfig, **kwargs) -> None:
    """What can be checked before a job of `stage` is queued (its declared preflight, curiosft.stages; the
    job checks again, and measures the data)."""
    from curiosft.stages import get_stage

    get_stage(stage).run_preflight(cfg, **kwargs)


def preflight_sft(cfg: DictConfig, **kwargs) -> None:
    """An SFT job: the model's context, and the SFT data's lengths against the limits."""
    check_context_length(cfg.model.path, sft_token_limit(cfg), "data.max_prompt_length + data.max_response_length")
    if Path(cfg.model.path).is_dir() and Path(cfg.data.sft_train).is_file():
        check_sft_data(cfg, log=lambda message: None)


def preflight_rl(cfg: DictConfig, *, sft_model: str, **kwargs) -> None:
    """A GRPO job: the SFT model's context, the steps the data gives, the reward's format, vLLM for verl."""
    from curiosft.verl_ext.rl_config import response_length

    check_context_length(sft_model, int(cfg.data.max_prompt_length) + response_length(cfg),
                         "data.max_prompt_length + the RL response length (rl.max_response_length or "
                         "data.max_response_length)")
    check_rl_steps(cfg)
    check_reward_format(cfg)
    if cfg.rl.backend == "verl" and cfg.launcher.name != "slurm":
        import sys

        from curiosft.vllm_env import verl_rl_python

        verl_rl_python(sys.executable)  # vLLM for its rollouts, here or in the vLLM environment


def preflight_eval(cfg: DictConfig, *, model_dir: str | list[str], **kwargs) -> None:
    """An evaluation job: every model's context holds a prompt and eval.max_new_tokens."""
    for model in [model_dir] if isinstance(model_dir, str) else model_dir:
        check_context_length(model, int(cfg.data.max_prompt_length) + int(cfg.eval.max_new_tokens),
                             "data.max_prompt_length + eval.max_new_tokens")
