"""Read a data set's source rows: from the Hugging Face hub, or from local files when offline."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

from curiosft.data.registry import DatasetSpec
from curiosft.errors import CuriosftError, InputDataError, MissingInputError

LOCAL_SUFFIXES = (".parquet", ".json", ".jsonl", ".csv")


class HubUnreachable(CuriosftError, RuntimeError):
    """The hub cannot be reached; the message says how to use local files instead."""


def read_local(path: str | os.PathLike) -> pd.DataFrame:
    """Rows from a parquet / json / jsonl / csv file, or every such file in a directory (sorted)."""
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"local data file {path} does not exist")
    files = sorted(p for p in path.rglob("*") if p.suffix in LOCAL_SUFFIXES) if path.is_dir() else [path]
    if not files:
        raise MissingInputError(f"no {'/'.join(LOCAL_SUFFIXES)} files under {path}")
    frames = []
    for f in files:
        if f.suffix == ".parquet":
            frames.append(pd.read_parquet(f))
        elif f.suffix in (".json", ".jsonl"):
            # dtype=False: keep values as JSON has them (an answer "3.2e-5" must stay that string);
            # precise_float: a float answer keeps its exact value (the default parser reads
            # 3.3333333333333335 as 3.333333333333333)
            frames.append(pd.read_json(f, lines=f.suffix == ".jsonl" or _looks_like_jsonl(f), dtype=False,
                                       convert_dates=False, precise_float=True))
        elif f.suffix == ".csv":
            frames.append(pd.read_csv(f, dtype=str, keep_default_na=False))
        else:
            raise InputDataError(f"{f}: unsupported file type {f.suffix!r}; use one of {', '.join(LOCAL_SUFFIXES)}")
    return pd.concat(frames, ignore_index=True)


def _looks_like_jsonl(path: Path) -> bool:
    with open(path) as fh:
        return fh.read(1) == "{"


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def check_hub_reachable(spec: DatasetSpec, timeout: float = 5.0) -> None:
    """Fail fast (seconds, not minutes of retries) when the hub cannot be reached."""
    how = (
        f"Download {spec.hub_id!r} where the hub is reachable and pass the file or folder: "
        f"`curiosft prepare-data {spec.name} --local PATH` (in the workflow: set local_data.{spec.name} "
        "in config/config.yaml)."
    )
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False"):
        raise HubUnreachable(f"HF_HUB_OFFLINE is set, so {spec.name!r} cannot be downloaded. {how}")
    url = urlparse(hub_endpoint())
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise HubUnreachable(f"cannot reach {host}:{port} to download {spec.name!r} ({exc}). {how}") from exc


def read_hub(spec: DatasetSpec, revision: str | None = None) -> tuple[pd.DataFrame, str]:
    """Rows of the data set from the hub, and the revision that was read."""
    check_hub_reachable(spec)
    import datasets
    from huggingface_hub import HfApi

    # resolve a branch name to the commit it points at now, then read exactly that commit
    commit = HfApi().dataset_info(spec.hub_id, revision=revision or spec.revision).sha
    kwargs = {"split": spec.split, "revision": commit}
    if spec.data_files:
        kwargs["data_files"] = spec.data_files
    ds = datasets.load_dataset(spec.hub_id, spec.config, **kwargs)
    return ds.to_pandas(), str(commit)
