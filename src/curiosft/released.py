"""Constants the papers' releases hard-code (docs/methods.md), in one place for the config schema
and the objectives alike. Plain Python: importing it pulls in neither torch nor Hydra."""

# CurioSFT's entropy-guided temperature selection
ENTROPY_GUIDED = {"tau_min": 1.1, "tau_max": 1.5, "top_k": 512, "b": 0.5, "c": 2.0, "h0": 1.2, "eps_h": 0.03,
                  "iters": 20}
