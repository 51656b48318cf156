"""Stage 2: GRPO after each SFT checkpoint.

- `run.run_rl`: one RL job (reward server lifecycle, backend dispatch, metrics, model export).
- `local`: the CPU backend (HF generate rollouts, verl's GRPO advantage and policy loss).
- `curiosft.verl_ext.rl_config`: the verl backend's `main_ppo` config, built from the same `rl` keys.
- `metrics`: verl's metric names -> the names every curiosft metrics.jsonl uses.
"""
