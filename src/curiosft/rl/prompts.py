"""The RL prompts a run trains on, and how many steps they give: shared by both RL backends.

verl's PPO trainer drops prompts longer than data.max_prompt_length (data.filter_overlong_prompts) and the
last partial batch of an epoch (drop_last); `total_steps` counts the same way, so a run asking for more
steps than the data gives fails before it starts (curiosft.runs.check_steps_fit_the_data).
"""

from __future__ import annotations

from curiosft.errors import ConfigError
from curiosft.evaluation.generation import encode_prompt
from curiosft.evaluation.prompts import EvalPrompt, load_eval_prompts
from curiosft.runs import check_steps_fit_the_data


def load_prompts(path: str, tokenizer, max_prompt_length: int) -> list[EvalPrompt]:
    """The RL parquet's rows (the evaluation's reader, no option shuffling); prompts over
    max_prompt_length tokens are dropped (verl: filter_overlong_prompts)."""
    prompts = [p for p in load_eval_prompts(path, "rl_train", "math", shuffle=False, shuffle_seed=0)
               if len(encode_prompt(tokenizer, p.messages))
               <= max_prompt_length]
    if not prompts:
        raise ConfigError(f"{path}: no RL prompt fits data.max_prompt_length={max_prompt_length}")
    return prompts


def total_steps(n_prompts: int, batch_size: int, epochs: int, max_steps: int | None) -> int:
    """verl's count: full batches per epoch (the last partial one dropped) x epochs, or max_steps (ConfigError
    when max_steps is more than that: curiosft.runs.check_steps_fit_the_data)."""
    per_epoch = n_prompts // batch_size
    if per_epoch == 0:
        raise ConfigError(f"{n_prompts} RL prompts do not fill one batch of rl.batch_size={batch_size}; "
                         "lower rl.batch_size")
    check_steps_fit_the_data(max_steps, per_epoch, epochs, "rl")
    return max_steps or per_epoch * epochs
