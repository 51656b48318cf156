"""The papers' released hyper-parameters, read from the config tree (one place: conf/<group>/<option>.yaml).

    released("schedule", "entropy_guided")  -> {"tau_min": 1.1, "tau_max": 1.5, "top_k": 512, ...}

The Hydra options in conf/ are the source of every released value (docs/methods.md cites the release
file of each); the config schema types and checks them, and the pure objectives take their defaults
from here, so a value is written once. Plain Python and PyYAML: importing it pulls in neither torch nor Hydra.
"""

from __future__ import annotations

from functools import cache

import yaml

from curiosft.paths import conf_dir


@cache
def _load(group: str, option: str) -> dict:
    path = conf_dir() / group / f"{option}.yaml"
    values = yaml.safe_load(path.read_text()) or {}
    values.pop("defaults", None)
    return values


def released(group: str, option: str) -> dict:
    """The values conf/<group>/<option>.yaml sets (its `defaults` list left out); a fresh dict each call."""
    return dict(_load(group, option))
