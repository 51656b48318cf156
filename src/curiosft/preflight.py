"""Checks every stage runs before it spends compute: before a SLURM job is submitted (`launch`) and again
in the job, before its first step. Each failure names the numbers and the fix.

- context length: the tokens a stage asks for (prompt + response) against the model's context
  (`max_position_embeddings` of its config.json, times a RoPE scaling factor where one is declared);
- SFT data: every demonstration measured with the model's tokenizer and chat template
  (curiosft.data.lengths); rows longer than data.max_prompt_length + data.max_response_length either
  stop the run at once (`data.overlong=error`) or are left out of it (`data.overlong=drop`): without
  this, verl's SFT dataset raises at the step that draws such a row, hours in;
- the RL reward's format against what SFT teaches: `rl.reward.format=rl` scores a response 0 unless it
  closes a `</think>` block, so the SFT demonstrations must (check_reward_format);
- the model: a folder with config.json, tokenizer files and a chat template, or a hub id this machine can
  reach (check_model_path);
- the SFT rows' form: a user turn, then a non-empty assistant turn (check_sft_rows).
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


HUB = "https://huggingface.co"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")


def looks_like_hub_id(path: str) -> bool:
    """`org/name` (one slash, hub characters, not a path that starts with /, ., ~): how a hub id is written."""
    import re

    return re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", str(path)) is not None


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers here (False under HF_HUB_OFFLINE=1, or without a network)."""
    import os

    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return False
    import urllib.request

    try:
        urllib.request.urlopen(urllib.request.Request(HUB, method="HEAD"), timeout=timeout_s)
        return True
    except Exception:  # noqa: BLE001 - any failure means: not reachable from here
        return False


def check_model_folder(path: str | Path, key: str = "model.path") -> None:
    """PreflightError unless `path` is a Hugging Face model folder a job can load and chat with: config.json,
    tokenizer files and a chat template (tokenizer_config.json's chat_template or chat_template.jinja)."""
    folder = Path(path).expanduser()
    convert = "curiosft assets smollm2 prints a converted SmolLM2-135M-Instruct folder"
    if not folder.is_dir():
        raise PreflightError(f"{key}={path}: no such folder; point {key} at a Hugging Face model folder "
                             f"(config.json, tokenizer, weights; {convert})")
    if not (folder / "config.json").is_file():
        raise PreflightError(f"{key}={path}: the folder has no config.json, so it is not a Hugging Face model "
                             f"folder; point {key} at one (save_pretrained writes it; {convert})")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise PreflightError(f"{key}={path}: the folder has no tokenizer ({' / '.join(TOKENIZER_FILES)}); save "
                             "the tokenizer beside the model (tokenizer.save_pretrained(folder))")
    template = folder / "tokenizer_config.json"
    has_template = (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file() or (
        template.is_file() and json.loads(template.read_text()).get("chat_template"))
    if not has_template:
        raise PreflightError(f"{key}={path}: the tokenizer has no chat template (SFT, RL and evaluation all render "
                             "chats); use the chat (Instruct) variant of the model, or save one with "
                             "tokenizer.chat_template = ... ; tokenizer.save_pretrained(folder)")


def check_model_path(path: str | Path, key: str = "model.path", *, reachable=hub_reachable) -> None:
    """A model a job can load: a local folder (check_model_folder), or a hub id (`org/name`) that is in the
    local Hugging Face cache or that this machine can download (`reachable()`); PreflightError naming `key`,
    the value and the fix otherwise. A missing path that looks like a hub id is never taken for a download
    the machine cannot make."""
    if Path(str(path)).expanduser().exists() or not looks_like_hub_id(str(path)):
        check_model_folder(path, key)
        return
    if _config_file(path) is not None or reachable():
        return
    raise PreflightError(
        f"{key}={path}: no such folder here, and as a hub id it is neither in the local Hugging Face cache nor "
        f"downloadable ({HUB} is not reachable from this machine); download it where the hub is reachable "
        f"(huggingface-cli download {path} --local-dir <folder>) and set {key}=<folder>")


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


# the tiny world's learning rate is for a 1M-parameter model trained from scratch; the released SFT runs of
# pretrained models use 1e-5 (CurioSFT) and 1e-6 (PSFT) (docs/methods.md)
PRETRAINED_MAX_LR = 1e-4
# a math answer's length when its benchmark names none: MATH-500's reference solutions, p90 (curiosft.benchmarks)
MATH_RESPONSE_TOKENS = 501


def settings_warnings(cfg: DictConfig) -> list[str]:
    """Tiny-world settings that meet a pretrained model (model.path is not the tiny world's model): a learning
    rate of 1e-4 or more, eval.max_new_tokens below what a benchmark's answers need, the tiny world's test
    sets. Each warning names the key, the value and what to set instead; [] for the tiny world's own model."""
    from curiosft.benchmarks import get_benchmark

    if str(cfg.model.path) == f"{cfg.paths.world}/model":
        return []
    model, warnings = cfg.model.path, []
    if float(cfg.trainer.lr) >= PRETRAINED_MAX_LR:
        warnings.append(f"trainer.lr={cfg.trainer.lr:g} is a from-scratch rate (the tiny world's) on the pretrained "
                        f"model {model}; the released SFT runs use 1e-5 (CurioSFT) and 1e-6 (PSFT): set trainer.lr")
    for name in cfg.eval.benchmarks:
        benchmark = get_benchmark(name)
        if benchmark.world_file:
            warnings.append(f"eval.benchmarks has {name}, the tiny world's test set, for the pretrained model {model}; "
                            "evaluate on real benchmarks (eval.benchmarks=[math500,arc_challenge], docs/real_data.md)")
            continue
        needed = benchmark.response_tokens or (MATH_RESPONSE_TOKENS if benchmark.kind == "math" else None)
        if needed and int(cfg.eval.max_new_tokens) < needed:
            warnings.append(f"eval.max_new_tokens={cfg.eval.max_new_tokens} cuts most {name} answers short (they "
                            f"need ~{needed} tokens or more); raise eval.max_new_tokens")
    return warnings


def check_sft_rows(data_file: str | Path) -> int:
    """PreflightError unless every row of an SFT parquet is a conversation verl can train on: an optional
    system turn, a user turn, then a non-empty assistant turn (the demonstration; verl trains on the
    assistant tokens). Names the file, the first bad row and the fix; returns the row count."""
    import pyarrow.parquet as pq

    data_file = Path(data_file)
    fix = ("each row's `messages` must be [system (optional), user, assistant] with the solution as the "
           "assistant's content; `curiosft prepare-data --from-file` writes that from a question/solution file")
    table = pq.read_table(data_file, columns=["messages"]) if "messages" in pq.read_schema(data_file).names else None
    if table is None:
        raise PreflightError(f"{data_file}: no `messages` column (the SFT parquet's conversation); {fix}")
    rows = table.column("messages").to_pylist()
    for index, messages in enumerate(rows):
        roles = [m.get("role") for m in messages or []]
        turns = roles[1:] if roles[:1] == ["system"] else roles
        problem = None
        if len(turns) < 2 or turns[0] != "user" or turns[-1] != "assistant" or \
                any(a == b for a, b in zip(turns, turns[1:])):
            problem = f"its roles are {roles or 'empty'}, not [system,] user, assistant"
        elif not str(messages[-1].get("content") or "").strip():
            problem = "its assistant turn (the demonstration) is empty"
        if problem is not None:
            raise PreflightError(f"{data_file}: row {index} cannot be trained on: {problem}; {fix}")
    if not rows:
        raise PreflightError(f"{data_file} has no rows; {fix}")
    return len(rows)


def check_sft_data(cfg: DictConfig, run_dir: str | Path | None = None, *, log=print) -> Path:
    """Measure the SFT rows; returns the parquet verl should train on. In a job (`run_dir` given) the
    length distribution is written to run_dir/data_lengths.json and, with data.overlong=drop, the rows
    that fit to run_dir/sft_train.kept.parquet."""
    from curiosft.data.lengths import measure_sft_lengths

    data_file = Path(cfg.data.sft_train)
    check_sft_rows(data_file)
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
    """An SFT job: the model, its context, and the SFT data's rows and lengths against the limits."""
    check_model_path(cfg.model.path)
    check_context_length(cfg.model.path, sft_token_limit(cfg), "data.max_prompt_length + data.max_response_length")
    if Path(cfg.model.path).is_dir() and Path(cfg.data.sft_train).is_file():
        check_sft_data(cfg, log=lambda message: None)


def preflight_rl(cfg: DictConfig, *, sft_model: str, **kwargs) -> None:
    """A GRPO job: the SFT model's context, the steps the data gives, the reward's format, vLLM for verl."""
    from curiosft.verl_ext.rl_config import response_length

    check_model_path(sft_model, "--sft-model")
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
    """An evaluation job: every model is one, and its context holds a prompt and eval.max_new_tokens."""
    for model in [model_dir] if isinstance(model_dir, str) else model_dir:
        check_model_path(model, "--model")
        check_context_length(model, int(cfg.data.max_prompt_length) + int(cfg.eval.max_new_tokens),
                             "data.max_prompt_length + eval.max_new_tokens")
