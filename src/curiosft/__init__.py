"""curiosft: entropy-preserving SFT (SFT, PSFT, CurioSFT) -> GRPO -> evaluation, as a Snakemake + Hydra workflow on verl."""

__version__ = "0.1.0"
