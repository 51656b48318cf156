"""The hf generator samples exactly what the settings say: frequencies against softmax(logits / T), no
model-folder defaults, per-prompt seeds, stop at the end-of-turn token, entropy while generating."""

from __future__ import annotations

import json
import math

import pytest
import torch

from curiosft.evaluation.generation import HFGenerator, SamplingSettings, render_prompt
from curiosft.stopping import end_of_turn_token_id, save_stop_tokens, stop_token_ids
from curiosft.world.chat import END_OF_TEXT, IM_END

PROMPT = [{"role": "user", "content": "12 + 34 = ?"}]


@pytest.fixture(scope="module")
def flat_model(tmp_path_factory):
    """A random (near-flat) ~300-token Qwen2 whose folder asks for top_k=5, a repetition penalty and a
    low temperature in generation_config.json, and whose tokenizer has NO pad token and an eos that is
    not the chat template's end-of-turn token (as converted SmolLM2 / Qwen2.5-Math base)."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from curiosft.world.tokenizer import train_tokenizer

    texts = [f"<|im_start|>user\n{a} + {b} = ?<|im_end|>\n<|im_start|>assistant\n{a + b}<|im_end|>\n"
             for a in range(60) for b in range(0, 60, 7)]
    tok = train_tokenizer(texts * 3, vocab_size=300)
    tok.eos_token, tok.pad_token = END_OF_TEXT, None
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128,
                         initializer_range=0.2, eos_token_id=tok.convert_tokens_to_ids(END_OF_TEXT))
    model = Qwen2ForCausalLM(config)
    out = tmp_path_factory.mktemp("flat_model")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    (out / "generation_config.json").write_text(json.dumps({
        "do_sample": True, "top_k": 5, "temperature": 0.1, "repetition_penalty": 1.5,
        "eos_token_id": tok.convert_tokens_to_ids(END_OF_TEXT)}))
    return out


def _first_token_probs(generator, temperature: float) -> torch.Tensor:
    tok = generator.tokenizer
    ids = tok(render_prompt(tok, PROMPT), add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = generator.model(input_ids=ids).logits[0, -1].double()
    return torch.softmax(logits / temperature, dim=-1)


def _chi_square(counts: torch.Tensor, probs: torch.Tensor) -> tuple[float, int]:
    """Pearson's statistic over tokens with an expected count >= 5 (the rest pooled) and its dof."""
    n = counts.sum()
    expected = probs * n
    big = expected >= 5
    obs = torch.cat([counts[big], counts[~big].sum()[None]])
    exp = torch.cat([expected[big], expected[~big].sum()[None]])
    keep = exp > 0
    stat = float(((obs[keep] - exp[keep]) ** 2 / exp[keep]).sum())
    return stat, int(keep.sum()) - 1


def _sample_first_tokens(generator, settings) -> torch.Tensor:
    completions = generator.generate([PROMPT], settings)[0]
    first = torch.tensor([c.token_ids[0] for c in completions])
    return torch.bincount(first, minlength=len(generator.tokenizer)).double()


def test_folder_defaults_would_truncate(flat_model):
    """The test input is real: plain generate() on this folder samples from only top_k=5 tokens."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(flat_model)
    model = AutoModelForCausalLM.from_pretrained(flat_model)
    ids = tok(render_prompt(tok, PROMPT), add_special_tokens=False, return_tensors="pt")["input_ids"]
    torch.manual_seed(0)
    out = model.generate(input_ids=ids.repeat(400, 1), attention_mask=torch.ones_like(ids).repeat(400, 1),
                         max_new_tokens=1, pad_token_id=0)
    assert len(set(out[:, -1].tolist())) <= 5


def test_sampled_frequencies_match_softmax(flat_model):
    generator = HFGenerator.from_pretrained(str(flat_model), batch_size=1)
    settings = SamplingSettings(n=4000, temperature=0.6, top_p=1.0, max_new_tokens=1, seed=3)
    counts = _sample_first_tokens(generator, settings)
    probs = _first_token_probs(generator, 0.6)
    stat, dof = _chi_square(counts, probs)
    # 6 standard deviations of the chi-square distribution above its mean
    assert stat < dof + 6 * math.sqrt(2 * dof), (stat, dof)
    assert int((counts > 0).sum()) > 100  # far more than transformers' default top_k=50
    # the same samples are far from the folder's T=0.1 / top-k 5 policy: the test can fail
    truncated = _first_token_probs(generator, 0.1)
    assert _chi_square(counts, truncated)[0] > 10 * dof


def test_top_p_and_top_k_when_set(flat_model):
    generator = HFGenerator.from_pretrained(str(flat_model), batch_size=1)
    probs = _first_token_probs(generator, 1.0)
    order = torch.argsort(probs, descending=True)
    cumulative = torch.cumsum(probs[order], 0)
    # transformers' nucleus: the smallest prefix whose mass reaches top_p
    nucleus = order[: int((cumulative < 0.3).sum()) + 1]
    counts = _sample_first_tokens(generator, SamplingSettings(n=3000, temperature=1.0, top_p=0.3, max_new_tokens=1))
    outside = torch.ones_like(counts, dtype=torch.bool)
    outside[nucleus] = False
    assert counts[outside].sum() == 0
    renormalised = torch.zeros_like(probs)
    renormalised[nucleus] = probs[nucleus] / probs[nucleus].sum()
    stat, dof = _chi_square(counts, renormalised)
    assert stat < dof + 6 * math.sqrt(2 * dof), (stat, dof)
    top3 = _sample_first_tokens(generator, SamplingSettings(n=500, temperature=1.0, top_p=1.0, max_new_tokens=1,
                                                            top_k=3))
    assert set(torch.nonzero(top3).flatten().tolist()) <= set(order[:3].tolist())


def test_per_prompt_seeds(flat_model):
    generator = HFGenerator.from_pretrained(str(flat_model), batch_size=4)
    prompts = [PROMPT, PROMPT, [{"role": "user", "content": "5 + 6 = ?"}], PROMPT]
    settings = SamplingSettings(n=3, temperature=1.0, top_p=1.0, max_new_tokens=8, seed=11)
    first = generator.generate(prompts, settings)
    # two prompts with the same text get their own samples
    assert [c.token_ids for c in first[0]] != [c.token_ids for c in first[1]]
    assert generator.generate(prompts, settings) == first
    # a prompt's samples depend on its index and the seed, not on how prompts are batched (the entropy
    # may differ in the last float bits with the padding)
    def tokens(out):
        return [[c.token_ids for c in cs] for cs in out]

    generator.batch_size = 1
    assert tokens(generator.generate(prompts, settings)) == tokens(first)
    assert tokens(generator.generate(prompts[1:], settings, prompt_ids=[1, 2, 3])) == tokens(first[1:])
    assert generator.generate(prompts, SamplingSettings(**{**settings.__dict__, "seed": 12})) != first


def test_entropy_while_generating_equals_exact(flat_model):
    """The logits processor's entropy equals the entropy of generate's raw logits, position by position."""
    from transformers import AutoModelForCausalLM

    from curiosft.objectives.temperature import entropy_from_logits

    generator = HFGenerator.from_pretrained(str(flat_model), batch_size=2)
    tok = generator.tokenizer
    prompts = [PROMPT, [{"role": "user", "content": "7 + 8 = ?"}]]
    greedy = generator.generate(prompts, SamplingSettings(n=1, temperature=0.0, top_p=1.0, max_new_tokens=12))
    reference = AutoModelForCausalLM.from_pretrained(flat_model)
    for messages, (completion,) in zip(prompts, greedy):
        ids = tok(render_prompt(tok, messages), add_special_tokens=False, return_tensors="pt")["input_ids"]
        full = torch.cat([ids, torch.tensor([completion.token_ids])], dim=1)
        with torch.no_grad():
            logits = reference(input_ids=full).logits[0, ids.shape[1] - 1:-1]
        expected = float(entropy_from_logits(logits).mean())
        assert completion.mean_entropy == pytest.approx(expected, rel=1e-4)


def test_end_of_turn_differs_from_eos(flat_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(flat_model)
    assert tok.eos_token == END_OF_TEXT and tok.pad_token is None
    im_end = tok.convert_tokens_to_ids(IM_END)
    assert end_of_turn_token_id(tok) == im_end
    assert stop_token_ids(tok) == [im_end, tok.convert_tokens_to_ids(END_OF_TEXT)]
    tok.chat_template = None
    assert end_of_turn_token_id(tok) is None


def test_generation_stops_at_end_of_turn(flat_model):
    """The flat model's tokenizer says eos is <|endoftext|> (and has no pad token); responses end at the
    template's <|im_end|> as well as at that eos, and nothing of a finished turn follows."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(flat_model)
    im_end, eos = tok.convert_tokens_to_ids(IM_END), tok.convert_tokens_to_ids(END_OF_TEXT)
    generator = HFGenerator.from_pretrained(str(flat_model), batch_size=1)
    out = generator.generate([PROMPT], SamplingSettings(n=150, temperature=1.0, top_p=1.0, max_new_tokens=60))[0]
    by_reason = {"stop": [], "length": []}
    for c in out:
        by_reason[c.finish_reason].append(c)
        assert c.num_tokens == len(c.token_ids)
    ended_by = [c.token_ids[-1] for c in by_reason["stop"]]
    assert ended_by.count(im_end) >= 5 and ended_by.count(eos) >= 5, ended_by
    for c in by_reason["stop"]:
        assert im_end not in c.token_ids[:-1] and eos not in c.token_ids[:-1]
        assert IM_END not in c.text and END_OF_TEXT not in c.text
    for c in by_reason["length"]:
        assert c.num_tokens == 60 and im_end not in c.token_ids and eos not in c.token_ids


def test_exports_carry_the_stop_tokens(flat_model, tmp_path):
    """generation_config.json of an exported model lists the end-of-turn token among its eos ids (what
    vLLM, and so verl's rollouts, stop at); its other settings stay."""
    import shutil

    from transformers import AutoTokenizer, GenerationConfig

    folder = tmp_path / "model"
    shutil.copytree(flat_model, folder)
    tok = AutoTokenizer.from_pretrained(folder)
    stops = save_stop_tokens(folder)
    config = GenerationConfig.from_pretrained(folder)
    assert config.eos_token_id == stops == [tok.convert_tokens_to_ids(IM_END), tok.convert_tokens_to_ids(END_OF_TEXT)]
    assert config.top_k == 5


def test_vllm_on_cpu_prefills_whole_prompts(tmp_path):
    """vLLM 0.27 rewinds a seeded request's generator after a partial (chunked) prefill, which a CPU generator
    cannot: the CPU engine takes whole prompts (issue 28; the run itself: tests/test_vllm.py)."""
    from curiosft.evaluation.generation import cpu_engine_settings

    (tmp_path / "config.json").write_text(json.dumps({"max_position_embeddings": 16384}))
    settings = cpu_engine_settings(str(tmp_path), None, 2.0)
    assert settings == {"kv_cache_memory_bytes": 2 * 2**30, "enable_chunked_prefill": False,
                        "max_num_batched_tokens": 16384}
    # a step always holds the longest prompt the engine accepts
    assert cpu_engine_settings(str(tmp_path), 1536, 1.0)["max_num_batched_tokens"] >= 1536
    assert cpu_engine_settings(str(tmp_path / "missing"), None, 1.0)["max_num_batched_tokens"] == 8192


def test_backends_are_one_registry():
    """eval.backend names a factory in curiosft.generation_backends; the config check reads the same names."""
    from curiosft.config import compose_config
    from curiosft.errors import ConfigError
    from curiosft.evaluation.generation import make_generator
    from curiosft.generation_backends import register_backend, unregister_backend

    with pytest.raises(ConfigError, match="unknown eval.backend 'echo'; choose one of hf, vllm"):
        compose_config(["experiment=smoke", "eval.backend=echo"])
    register_backend("echo", "tests.test_generation:echo_generator")
    try:
        cfg = compose_config(["experiment=smoke", "eval.backend=echo"])
        generator = make_generator("echo", "/some/model", cfg.eval, threads=1)
        assert generator == ("/some/model", 1, cfg.eval.batch_size)
    finally:
        unregister_backend("echo")
    with pytest.raises(KeyError, match="unknown generation backend 'echo'; choose one of hf, vllm"):
        make_generator("echo", "/some/model", cfg.eval)


def echo_generator(model_dir, eval_cfg, *, threads=None, max_model_len=None):
    return (model_dir, threads, eval_cfg.batch_size)


def test_progress_is_in_decoding_steps_with_sequences_and_tokens_per_second(flat_model, capsys):
    """A job that is one batch still shows progress (one step per decoded token) and says how many
    sequences are done and at what rate (issue 34: `generate: 0/1 batch` for 4 minutes)."""
    generator = HFGenerator.from_pretrained(str(flat_model), batch_size=64)
    settings = SamplingSettings(n=2, temperature=1.0, top_p=1.0, max_new_tokens=12, seed=3)
    generator.generate([PROMPT] * 3, settings)
    err = capsys.readouterr().err
    assert "generate 3 prompts x 2" in err and "sequences=6/6" in err and "tokens_per_s=" in err, err
    assert "12/12" in err and "batch" not in err, err  # one batch: its 12 decoding steps
