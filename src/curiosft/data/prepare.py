"""Prepare a registered data set: read its source rows, convert, write parquet and a manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path

from curiosft.data.converters import CONVERTERS
from curiosft.data.fetch import read_hub, read_local
from curiosft.data.registry import get_spec
from curiosft.io import write_json, write_parquet


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def prepare_dataset(name: str, out_dir: str | Path, *, local: str | None = None, revision: str | None = None,
                    limit: int | None = None) -> dict:
    """Write out_dir/<files>.parquet in the normalised schema plus out_dir/manifest.json; returns the manifest."""
    spec = get_spec(name)
    out_dir = Path(out_dir)
    if local:
        df, source = read_local(local), {"local": str(Path(local).resolve())}
    else:
        df, read_revision = read_hub(spec, revision)
        source = {"hub_id": spec.hub_id, "config": spec.config, "split": spec.split, "revision": read_revision}
    if limit:
        df = df.head(limit)
    outputs = CONVERTERS[spec.layout](df, spec)
    files = {}
    for file_name, records in outputs.items():
        path = out_dir / file_name
        write_parquet(path, records)
        files[file_name] = {"rows": len(records), "sha256": _sha256(path)}
    manifest = {"name": spec.name, "kind": spec.kind, "layout": spec.layout, "source": source, "files": files}
    write_json(out_dir / f"manifest.{spec.name}.json", manifest)
    return manifest
