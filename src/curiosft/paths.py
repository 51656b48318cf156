"""Where the project's own files live (the Hydra config tree, the Snakefile)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def conf_dir() -> Path:
    """The Hydra config tree: $CURIOSFT_CONF, else `conf/` of the checkout this package was installed from."""
    path = Path(os.environ.get("CURIOSFT_CONF", REPO_ROOT / "conf"))
    if not (path / "config.yaml").is_file():
        raise FileNotFoundError(
            f"Hydra config tree not found at {path} (no config.yaml). Install curiosft editable from its checkout "
            "(`pip install -e .`) or point CURIOSFT_CONF at the repository's conf/ folder."
        )
    return path
