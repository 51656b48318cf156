"""The SFT-stage objectives as pure PyTorch functions (importable without verl): what every method's loss
on verl's trainer is built on (curiosft.methods), and what the float64 reference tests certify."""

from curiosft.objectives.losses import (
    asft_token_losses,
    curiosft_loss,
    curiosft_token_losses,
    dft_loss,
    eaft_token_losses,
    entropy_reg_loss,
    entropy_reg_loss_from_logits,
    masked_token_mean,
    psft_loss,
    sft_loss,
)
from curiosft.objectives.temperature import (
    Annealed,
    EntropyGuided,
    Fixed,
    TemperatureSchedule,
    entropy_from_logits,
    select_temperature,
)

__all__ = [
    "Annealed", "EntropyGuided", "Fixed", "TemperatureSchedule", "asft_token_losses", "curiosft_loss",
    "curiosft_token_losses", "dft_loss", "eaft_token_losses", "entropy_from_logits", "entropy_reg_loss", "entropy_reg_loss_from_logits",
    "masked_token_mean", "psft_loss", "select_temperature", "sft_loss",
]
