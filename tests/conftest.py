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
