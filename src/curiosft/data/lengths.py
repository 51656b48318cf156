"""Token lengths of SFT demonstrations under a model's tokenizer and chat template, measured once.

The length of a row is what verl's SFT dataset (MultiTurnSFTDataset) trains on: the whole conversation
rendered by the chat template and tokenized without extra special tokens (verl's per-message
tokenization is checked against exactly this rendering; tests hold the two equal). The measurement is
cached next to the data file as `<stem>.lengths-<key>.json` (key: the data file's and the tokenizer's
content), so a sweep of many runs on one data set and model measures it once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curiosft.errors import MissingInputError
from curiosft.io import atomic_path

QUANTILES = (0.5, 0.9, 0.99)
# rows tokenized per call (the fast tokenizer encodes a batch on several threads)
BATCH = 512


@dataclass(frozen=True)
class LengthReport:
    data_file: str
    tokenizer: str
    lengths: tuple[int, ...]

    @property
    def rows(self) -> int:
        return len(self.lengths)

    def summary(self, limit: int | None = None) -> dict:
        """rows, mean, quantiles, max (and, with a limit, the rows over it): the distribution in numbers."""
        values = np.asarray(self.lengths)
        out = {"rows": self.rows, "mean": round(float(values.mean()), 1),
               **{f"p{round(q * 100)}": int(np.quantile(values, q)) for q in QUANTILES}, "max": int(values.max())}
        if limit is not None:
            out.update(limit=limit, over_limit=int((values > limit).sum()))
        return out

    def describe(self, limit: int | None = None) -> str:
        s = self.summary(limit)
        text = (f"{self.data_file}: {s['rows']} rows, tokens per row (tokenizer {self.tokenizer}) mean {s['mean']}, "
                f"p50 {s['p50']}, p90 {s['p90']}, p99 {s['p99']}, max {s['max']}")
        return text + (f"; {s['over_limit']} over the limit of {limit}" if limit is not None else "")


def _file_digest(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _tokenizer_digest(tokenizer) -> str:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    text = (backend.to_str() if backend is not None else str(sorted(tokenizer.get_vocab().items())))
    return hashlib.blake2b((text + str(tokenizer.chat_template)).encode(), digest_size=16).hexdigest()


def conversation_lengths(messages: list[list[dict]], tokenizer) -> list[int]:
    """Tokens of each conversation as verl's SFT dataset builds it (chat template, no added specials)."""
    lengths: list[int] = []
    for start in range(0, len(messages), BATCH):
        texts = [tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=False)
                 for m in messages[start:start + BATCH]]
        lengths += [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    return lengths


def measure_sft_lengths(data_file: str | Path, tokenizer_path: str | Path, *, messages_key: str = "messages",
                        progress: bool = True) -> LengthReport:
    """Every row's token length (cached next to data_file; see the module docstring)."""
    import pandas as pd
    from transformers import AutoTokenizer

    data_file = Path(data_file)
    if not data_file.is_file():
        raise MissingInputError(f"SFT data file {data_file} does not exist; prepare it first "
                                f"(snakemake {data_file}, or curiosft prepare-data)")
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_path))
    key = hashlib.blake2b((_file_digest(data_file) + _tokenizer_digest(tokenizer)).encode(),
                          digest_size=8).hexdigest()
    cache = data_file.with_name(f"{data_file.stem}.lengths-{key}.json")
    if cache.is_file():
        stored = json.loads(cache.read_text())
        return LengthReport(str(data_file), str(tokenizer_path), tuple(stored["lengths"]))
    frame = pd.read_parquet(data_file, columns=[messages_key])
    conversations = [[dict(m) for m in row] for row in frame[messages_key]]
    if progress:
        from tqdm import tqdm

        lengths = []
        for start in tqdm(range(0, len(conversations), BATCH * 8), desc="measure SFT rows", unit="chunk",
                          mininterval=2.0):
            lengths += conversation_lengths(conversations[start:start + BATCH * 8], tokenizer)
    else:
        lengths = conversation_lengths(conversations, tokenizer)
    report = LengthReport(str(data_file), str(tokenizer_path), tuple(lengths))
    try:
        with atomic_path(cache) as tmp:
            tmp.write_text(json.dumps({"data_file": str(data_file), "tokenizer": str(tokenizer_path),
                                       "summary": report.summary(), "lengths": list(lengths)}))
    except OSError:  # a read-only data folder: measured again next time
        pass
    return report
