"""Where the project's own files live: the Hydra config tree (the repository's top-level conf/, which the
package links as curiosft/conf and the wheel ships as curiosft/conf)."""

from __future__ import annotations

import os
from pathlib import Path

from curiosft.errors import MissingInputError

PACKAGE_DIR = Path(__file__).resolve().parent
# extra Hydra search-path folders (os.pathsep-separated): site settings (local/default.yaml) and options of
# your own (method/<name>.yaml) for a wheel install, where the package's tree is read-only
CONF_PATH_ENV = "CURIOSFT_CONF_PATH"


def conf_dir() -> Path:
    """The Hydra config tree: $CURIOSFT_CONF, else the `conf/` folder inside the installed package."""
    path = Path(os.environ.get("CURIOSFT_CONF", PACKAGE_DIR / "conf"))
    if not (path / "config.yaml").is_file():
        raise MissingInputError(
            f"Hydra config tree not found at {path} (no config.yaml). Reinstall curiosft (its wheel ships "
            "curiosft/conf), or point CURIOSFT_CONF at a copy of the repository's conf/ folder."
        )
    return path


def extra_conf_dirs() -> list[Path]:
    """The folders of $CURIOSFT_CONF_PATH, each searched after the package's tree (Hydra search path)."""
    dirs = [Path(p).expanduser().resolve() for p in os.environ.get(CONF_PATH_ENV, "").split(os.pathsep) if p]
    for d in dirs:
        if not d.is_dir():
            raise MissingInputError(f"{CONF_PATH_ENV} names {d}, which is not a folder; create it or fix the variable")
    return dirs
