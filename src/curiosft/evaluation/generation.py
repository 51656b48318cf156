"""Sampling responses behind one interface: `vllm` on GPUs, `hf` (transformers generate) on CPU.

Both return, per prompt, n `Completion`s with the text, its token count and the mean token entropy of
the model's next-token distribution at temperature 1 over the response (the papers' exploration
measure). hf computes it exactly from the unprocessed logits; vllm from the top `entropy_top_k`
raw log-probs it returns per token (renormalised), which slightly underestimates a flat tail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch

from curiosft.objectives.temperature import entropy_from_log_probs

BACKENDS = ("hf", "vllm")


@dataclass(frozen=True)
class SamplingSettings:
    n: int
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int = 0


@dataclass(frozen=True)
class Completion:
    text: str
    num_tokens: int
    mean_entropy: float
    # the response's token ids (the end-of-sequence token included when generated); RL trains on them
    token_ids: tuple[int, ...] = ()


def render_prompt(tokenizer, messages: list[dict]) -> str:
    """The chat-formatted prompt text the model continues (generation prompt appended)."""
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


class Generator(Protocol):
    def generate(self, prompts: list[list[dict]], settings: SamplingSettings) -> list[list[Completion]]:
        """n completions for each chat-formatted prompt, in order."""


class HFGenerator:
    """transformers `generate` in batches of prompts; for CPU and small models (keeps per-step logits)."""

    def __init__(self, model, tokenizer, *, batch_size: int = 64):
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size

    @classmethod
    def from_pretrained(cls, model_dir: str, *, batch_size: int = 64, threads: int | None = None,
                        dtype: str = "float32") -> HFGenerator:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype)).eval()
        return cls(model, AutoTokenizer.from_pretrained(model_dir), batch_size=batch_size)

    def generate(self, prompts: list[list[dict]], settings: SamplingSettings) -> list[list[Completion]]:
        padding_side = self.tokenizer.padding_side
        # decoder-only generation pads on the left; the tokenizer is handed back as it came
        self.tokenizer.padding_side = "left"
        try:
            return self._generate(prompts, settings)
        finally:
            self.tokenizer.padding_side = padding_side

    @torch.no_grad()
    def _generate(self, prompts: list[list[dict]], settings: SamplingSettings) -> list[list[Completion]]:
        from tqdm import tqdm

        tok = self.tokenizer
        results: list[list[Completion]] = []
        sample = settings.temperature > 0
        # greedy decoding gives n identical samples: decode once, repeat
        per_prompt = settings.n if sample else 1
        starts = range(0, len(prompts), self.batch_size)
        for batch_index, start in enumerate(tqdm(starts, desc="generate", unit="batch", mininterval=2.0)):
            chunk = prompts[start : start + self.batch_size]
            texts = [render_prompt(tok, p) for p in chunk]
            enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            # one seed per batch: the same prompts and settings give the same samples
            torch.manual_seed(settings.seed * 1_000_003 + batch_index)
            out = self.model.generate(
                **enc, do_sample=sample, max_new_tokens=settings.max_new_tokens,
                **({"temperature": settings.temperature, "top_p": settings.top_p} if sample else {}),
                num_return_sequences=per_prompt, output_logits=True, return_dict_in_generate=True,
                eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
            )
            tokens = out.sequences[:, enc["input_ids"].shape[1]:]
            entropy = entropy_from_log_probs(torch.log_softmax(torch.stack(out.logits, dim=1).float(), dim=-1))
            # response tokens: up to and including the first end-of-sequence token
            is_eos = tokens == tok.eos_token_id
            mask = (is_eos.cumsum(dim=1) - is_eos.long()) == 0
            lengths = mask.sum(dim=1)
            mean_entropy = (entropy * mask).sum(dim=1) / lengths.clamp(min=1)
            decoded = tok.batch_decode(tokens, skip_special_tokens=True)
            for i in range(len(chunk)):
                rows = [r for r in range(i * per_prompt, (i + 1) * per_prompt) for _ in range(settings.n // per_prompt)]
                results.append([Completion(decoded[r], int(lengths[r]), float(mean_entropy[r]),
                                           tuple(tokens[r, : lengths[r]].tolist())) for r in rows])
        return results


def _topk_entropy(step_logprobs: dict) -> float:
    values = torch.tensor([lp.logprob for lp in step_logprobs.values()], dtype=torch.float64)
    values = values[torch.isfinite(values)]
    return float(entropy_from_log_probs(torch.log_softmax(values, dim=-1)[None])[0]) if len(values) else 0.0


class VLLMGenerator:
    """vLLM `LLM.chat` with n samples per prompt and top-k raw log-probs per token (for the entropy)."""

    def __init__(self, model_dir: str, *, tensor_parallel_size: int = 1, gpu_memory_utilization: float = 0.85,
                 max_model_len: int | None = None, entropy_top_k: int = 20, seed: int = 0):
        from vllm import LLM

        self.entropy_top_k = entropy_top_k
        self.llm = LLM(model=model_dir, tensor_parallel_size=tensor_parallel_size, seed=seed,
                       gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len)

    def generate(self, prompts: list[list[dict]], settings: SamplingSettings) -> list[list[Completion]]:
        from vllm import SamplingParams

        params = SamplingParams(n=settings.n, temperature=settings.temperature, top_p=settings.top_p,
                                max_tokens=settings.max_new_tokens, seed=settings.seed,
                                logprobs=self.entropy_top_k)
        outputs = self.llm.chat(prompts, params, use_tqdm=True)
        results = []
        for output in outputs:
            completions = []
            for c in output.outputs:
                steps = [_topk_entropy(step) for step in (c.logprobs or [])]
                entropy = sum(steps) / len(steps) if steps else math.nan
                completions.append(Completion(c.text, len(c.token_ids), entropy, tuple(c.token_ids)))
            results.append(completions)
        return results


def make_generator(backend: str, model_dir: str, eval_cfg, *, threads: int | None = None,
                   max_model_len: int | None = None) -> Generator:
    if backend == "hf":
        return HFGenerator.from_pretrained(model_dir, batch_size=eval_cfg.batch_size, threads=threads)
    if backend == "vllm":
        return VLLMGenerator(model_dir, tensor_parallel_size=eval_cfg.tensor_parallel_size,
                             gpu_memory_utilization=eval_cfg.gpu_memory_utilization, max_model_len=max_model_len,
                             entropy_top_k=eval_cfg.entropy_top_k, seed=eval_cfg.seed)
    raise ValueError(f"unknown generation backend {backend!r}; choose one of {', '.join(BACKENDS)}")
