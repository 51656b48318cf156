"""The tiny Qwen2-architecture base model: build it, pretrain it on the world's corpus, measure it."""

from __future__ import annotations

import math
import random
from pathlib import Path

import torch
from tqdm.auto import tqdm

from curiosft.config.schema import WorldModelConfig, WorldPretrainConfig
from curiosft.io import atomic_path
from curiosft.scoring.boxed import boxed_match
from curiosft.world.chat import render_chat


def build_model(tokenizer, shape: WorldModelConfig, seed: int):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_layers,
        num_attention_heads=shape.num_heads,
        num_key_value_heads=shape.num_kv_heads,
        max_position_embeddings=shape.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        attn_implementation="sdpa",
        dtype="float32",
    )
    torch.manual_seed(seed)
    return Qwen2ForCausalLM(config)


def _lr_factor(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))


def _response_start(ids: list[int], header: list[int]) -> int:
    """Index of the first token after the last assistant header (0 if there is none)."""
    n = len(header)
    for i in range(len(ids) - n, -1, -1):
        if ids[i : i + n] == header:
            return i + n
    return 0


def pretrain(model, tokenizer, texts: list[str], cfg: WorldPretrainConfig, seed: int) -> list[float]:
    """Causal-LM training on rendered transcripts, loss on the worked answers; returns the loss per step.

    The prompt tokens (a constant system message and random operands) carry no learnable signal, so
    leaving them out of the loss makes each step on 2 CPU cores count.
    """
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    header = tokenizer(render_chat([], add_generation_prompt=True), add_special_tokens=False)["input_ids"]
    encoded = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    starts = [_response_start(ids, header) for ids in encoded]
    max_len = model.config.max_position_embeddings
    too_long = sum(len(ids) > max_len for ids in encoded)
    if too_long:
        raise ValueError(
            f"{too_long} pretraining transcripts exceed max_position_embeddings={max_len}; "
            "raise world.model.max_position_embeddings or lower the digit ranges"
        )
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.98))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _lr_factor(s, cfg.warmup_steps, cfg.steps))
    model.train()
    order: list[int] = []
    losses = []
    bar = tqdm(range(cfg.steps), desc="pretrain tiny base model", unit="step", mininterval=2.0)
    for _ in bar:
        if len(order) < cfg.batch_size:
            fresh = list(range(len(encoded)))
            rng.shuffle(fresh)
            order += fresh
        picked = order[: cfg.batch_size]
        del order[: cfg.batch_size]
        width = max(len(encoded[i]) for i in picked)
        input_ids = torch.full((len(picked), width), tokenizer.pad_token_id, dtype=torch.long)
        labels = torch.full_like(input_ids, -100)
        for row, i in enumerate(picked):
            ids = torch.tensor(encoded[i])
            input_ids[row, : len(ids)] = ids
            labels[row, starts[i] : len(ids)] = ids[starts[i] :]
        # right padding under a causal mask never reaches a real token: no attention mask needed
        loss = model(input_ids=input_ids, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
    model.eval()
    return losses


def greedy_accuracy(model, tokenizer, prompts: list[list[dict]], answers: list[str], max_new_tokens: int = 160,
                    batch_size: int = 64) -> float:
    """Fraction of prompts whose greedy completion's last \\boxed{} equals the answer."""
    from curiosft.evaluation.generation import HFGenerator, SamplingSettings

    if not prompts:
        return float("nan")
    greedy = SamplingSettings(n=1, temperature=0.0, top_p=1.0, max_new_tokens=max_new_tokens)
    completions = HFGenerator(model, tokenizer, batch_size=batch_size).generate(prompts, greedy)
    return sum(boxed_match(c[0].text, a) for c, a in zip(completions, answers)) / len(prompts)


def save_model(model, tokenizer, out_dir: str | Path) -> None:
    """Hugging Face format (safetensors + config + tokenizer), written atomically."""
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = None
    with atomic_path(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
