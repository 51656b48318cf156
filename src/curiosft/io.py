"""Atomic file writes: an output exists whole or not at all (write to a temp file, then rename)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from curiosft.errors import InputDataError


@contextmanager
def atomic_path(final: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `final`; rename it onto `final` only if the block succeeds.

    Works for files and directories (a directory target replaces any existing one).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    target = tmp / final.name
    try:
        yield target
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        os.replace(target, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_parquet(path: str | os.PathLike, records: list[dict]) -> None:
    """Write records as parquet, deterministically (same records -> same bytes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not records:
        raise InputDataError(f"refusing to write an empty table to {path}")
    table = pa.Table.from_pylist(records)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
