"""The RL reward: an HTTP scoring service, its client (verl's reward function) and its lifecycle.

- `server`: `curiosft serve-reward`, a FastAPI app around the shared `curiosft.scoring.ScoringPool`.
- `client`: `RewardClient` and `compute_score` / `compute_score_batched`, what verl's reward manager
  loads through `reward.custom_reward_function` (and what the local GRPO backend calls).
- `lifecycle`: `reward_service(...)`, start a server on a free loopback port for one job and stop it after.
"""

# where `curiosft serve-reward` listens unless told otherwise, and its request size limit (curiosft.defaults)
from curiosft.defaults import REWARD_HOST as DEFAULT_HOST
from curiosft.defaults import REWARD_MAX_BODY_BYTES as DEFAULT_MAX_BODY_BYTES
from curiosft.defaults import REWARD_PORT as DEFAULT_PORT

__all__ = ["DEFAULT_HOST", "DEFAULT_MAX_BODY_BYTES", "DEFAULT_PORT"]
