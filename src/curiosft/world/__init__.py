"""The embedded tiny world: synthetic arithmetic data, a locally trained tokenizer and a tiny Qwen2 base model.

Everything is deterministic for a given seed, so the same config yields byte-identical files.
"""
