"""The SFT-stage objectives (pure PyTorch, importable without verl) and the method -> loss registry."""

from curiosft.objectives.losses import curiosft_loss, dft_loss, entropy_reg_loss, psft_loss, sft_loss
from curiosft.objectives.temperature import (
    Annealed,
    EntropyGuided,
    Fixed,
    TemperatureSchedule,
    build_schedule,
    entropy_from_logits,
    select_temperature,
)

# Hydra `method` name -> loss function
LOSSES = {
    "sft": sft_loss,
    "psft": psft_loss,
    "curiosft": curiosft_loss,
    "entropy_reg": entropy_reg_loss,
    "dft": dft_loss,
}

__all__ = [
    "LOSSES", "Annealed", "EntropyGuided", "Fixed", "TemperatureSchedule", "build_schedule", "curiosft_loss",
    "dft_loss", "entropy_from_logits", "entropy_reg_loss", "psft_loss", "select_temperature", "sft_loss",
]
