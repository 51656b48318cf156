"""Validate a sweep's configs once per change: the workflow's start-up cache.

Composing every method x schedule of a sweep with Hydra takes ~0.2 s each; the Snakefile does it at
every start (dry runs included) to fail before any job. `composed_experiment` keeps the composed base
config under a fingerprint of everything composition reads (the conf/ tree and the
search-path folders, the schema and method code, the overrides): an unchanged sweep loads it instead of composing again; any change composes and validates anew.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from curiosft.config import compose_config
from curiosft.io import atomic_path
from curiosft.paths import conf_dir, extra_conf_dirs

# the code composition runs: the schemas (config/), the method modules that declare theirs, their checks
_SCHEMA_SOURCES = ("config", "methods", "errors.py", "released.py", "runid.py", "topology.py", "benchmarks.py",
                   "stages.py", "sweep.py", "generation_backends.py", "schedules.py")


def fingerprint(base: Sequence[str], runs: Sequence[Sequence[str]]) -> str:
    digest = hashlib.sha256()
    for root in (conf_dir(), *extra_conf_dirs()):
        digest.update(str(root).encode() + b"\0")
        for path in sorted(root.rglob("*.yaml")):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    package = Path(__file__).resolve().parents[1]
    for name in _SCHEMA_SOURCES:
        for path in sorted((package / name).rglob("*.py")) if (package / name).is_dir() else [package / name]:
            digest.update(path.read_bytes())
    digest.update(json.dumps([list(base), [list(r) for r in runs]]).encode())
    return digest.hexdigest()[:32]


def composed_experiment(base: Sequence[str], cache_dir: str | Path) -> DictConfig:
    """The composed config of `base` (the experiment and the user's overrides), after checking that every run
    of its `sweep` section composes (ConfigError if not; a seed cannot make a config invalid, so each
    method x schedule with its overrides once); cached in cache_dir by fingerprint, like
    composed_sweep_config."""
    from curiosft.config import register_schemas
    from curiosft.sweep import runs_of

    path = Path(cache_dir) / f"experiment-{fingerprint(base, [])}.yaml"
    if path.is_file():
        register_schemas()  # the resolvers its interpolations use (model.path: ${curiosft_cache:}, ...)
        return OmegaConf.load(path)
    cfg = compose_config(base)
    runs = runs_of(OmegaConf.to_container(cfg.sweep, resolve=True))
    for overrides in dict.fromkeys(tuple(o for o in r.overrides if not o.startswith("seed=")) for r in runs):
        compose_config([*base, *overrides])
    with atomic_path(path) as tmp:
        OmegaConf.save(cfg, tmp)
    return cfg
