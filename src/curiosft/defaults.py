"""Defaults that several entry points share, written once (a leaf module, plain Python).

The papers' released hyper-parameters are not here: they live in the config tree (conf/, read through
curiosft.released). These are this project's own operating defaults: the grading pool's size and hard
per-item timeout (evaluation, the RL reward server and `curiosft serve-reward`), and where the reward
server listens.
"""

# math-verify worker processes and the hard per-item grading timeout (seconds)
GRADING_WORKERS = 2
GRADING_TIMEOUT_S = 10.0
# where `curiosft serve-reward` listens unless told otherwise, and its request size limit
REWARD_HOST = "127.0.0.1"
REWARD_PORT = 19876
REWARD_MAX_BODY_BYTES = 64 * 1024 * 1024
