"""Hydra launcher plugin `hydra/launcher=curiosft_slurm` (Hydra finds launchers in the hydra_plugins
namespace only): Hydra multirun jobs on SLURM with curiosft's request and requeue rule."""
