"""Where a response ends: the chat template's end-of-turn token and every eos id of the model.

A chat template ends the assistant turn with its own token (`<|im_end|>` for Qwen and SmolLM2), which
is often not the tokenizer's or the generation config's eos (Qwen2.5-Math base: `<|endoftext|>`; the
converted SmolLM2: `<|im_start|>`). Generation that stops only at the eos writes past the turn until
max_new_tokens, and the grader reads text from turns the model invented. Every generator (hf, vllm,
local GRPO) stops at `stop_token_ids`; exported models carry them in generation_config.json, where
vLLM (and so verl's rollouts) read their stop ids.
"""

from __future__ import annotations

from pathlib import Path

from curiosft.errors import ConfigError

_PROBE = "curiosft-end-of-turn-probe"


def end_of_turn_token_id(tokenizer) -> int | None:
    """The special token the chat template writes right after an assistant message (`<|im_end|>` for
    Qwen and SmolLM2, `<|eot_id|>` for Llama 3, `<end_of_turn>` for Gemma), or None without a template."""
    messages = [{"role": "user", "content": "1"}, {"role": "assistant", "content": _PROBE}]
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False)
    except Exception:  # noqa: BLE001 - no template, or one that refuses this conversation
        return None
    if _PROBE not in text:
        return None
    after = text[text.rindex(_PROBE) + len(_PROBE):]
    special = set(tokenizer.all_special_ids) | {i for i, t in tokenizer.added_tokens_decoder.items() if t.special}
    for token_id in tokenizer(after, add_special_tokens=False)["input_ids"]:
        if token_id in special:
            return int(token_id)
    return None


def _ids(value) -> list[int]:
    if value is None:
        return []
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)]


def stop_token_ids(tokenizer, generation_config=None) -> list[int]:
    """Token ids that end a response: the chat template's end-of-turn token first, then the tokenizer's
    eos and the model's generation-config eos ids (each once)."""
    ids = [end_of_turn_token_id(tokenizer), tokenizer.eos_token_id,
           *_ids(getattr(generation_config, "eos_token_id", None))]
    stops = list(dict.fromkeys(i for i in ids if i is not None))
    if not stops:
        raise ConfigError("the tokenizer has no eos token and its chat template no end-of-turn token: "
                         "generation could not stop; set tokenizer.eos_token in the model folder")
    return stops




def save_stop_tokens(model_dir: str | Path) -> list[int]:
    """Write the stop ids into model_dir/generation_config.json as its eos_token_id (the rest of the
    file is kept); returns them."""
    from transformers import AutoTokenizer, GenerationConfig

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    try:
        config = GenerationConfig.from_pretrained(model_dir)
    except OSError:
        config = GenerationConfig()
    stops = stop_token_ids(tokenizer, config)
    config.eos_token_id = stops
    if config.pad_token_id is None and tokenizer.pad_token_id is not None:
        config.pad_token_id = tokenizer.pad_token_id
    config.save_pretrained(model_dir)
    return stops
