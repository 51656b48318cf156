"""Train the tiny world's tokenizer: byte-level BPE that splits digits, with a Qwen-style chat template."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from curiosft.io import atomic_path
from curiosft.world.chat import CHAT_TEMPLATE, END_OF_TEXT, IM_END, SPECIAL_TOKENS


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """A fast tokenizer trained on `texts` (deterministic for the same texts and vocab size)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    # Every digit is its own pre-token (as in Qwen2), so numbers are read and written digit by digit.
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token=IM_END,
        pad_token=END_OF_TEXT,
        model_max_length=4096,
        padding_side="right",
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def save_tokenizer(tokenizer, out_dir: str | Path) -> None:
    with atomic_path(out_dir) as tmp:
        tokenizer.save_pretrained(tmp)
