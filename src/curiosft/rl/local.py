"""The `local` GRPO backend: the RL stage on one machine without GPUs (the tiny default, tests).

Each step, as verl's PPO trainer does it: sample `batch_size` prompts, `n_rollouts` responses each
(HF generate, the evaluation stage's generator), score them through the reward server, compute the
old log-probs, GRPO advantages with verl's `compute_grpo_outcome_advantage`, then `ppo_epochs` passes
of mini-batch updates with verl's registered policy loss (`vanilla`: PPO clip) and verl's loss
aggregation, configured by the actor dataclass of the same verl config the `verl` backend would run.

Checkpoints follow verl's PPO layout: checkpoints/global_step_N/actor/huggingface (the model) plus
actor/local_state.pt (optimizer, RNG, step), each written whole (temp folder, then rename), and verl's
tracker file; a restarted job resumes from the latest one (curiosft.runs.latest_checkpoint).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from curiosft.cpu_allocator import keep_freed_memory
from curiosft.evaluation.generation import HFGenerator, SamplingSettings, encode_prompt
from curiosft.evaluation.prompts import EvalPrompt
from curiosft.io import atomic_path
from curiosft.objectives.temperature import entropy_from_log_probs
from curiosft.preemption import StopRequest
from curiosft.rl.prompts import load_prompts, total_steps
from curiosft.runs import TRACKER, latest_checkpoint

STATE_FILE = "local_state.pt"
# logits (floats) a no-grad log-prob pass holds at once: 2**27 x 4 bytes = 512 MiB, x2 with the log-softmax
LOGITS_BUDGET = 2**27


class LocalGRPO:
    def __init__(self, cfg, actor_cfg, *, model_path: str, run_dir: str | Path, score: Callable[[list[dict]], list[dict]],
                 log: Callable[[int, dict], None]):
        """cfg: the composed curiosft config; actor_cfg: verl's actor dataclass of the same run (clip ratio,
        loss aggregation, entropy coefficient, optimiser); score: items -> [{"score", "reason"}] (the reward
        client); log(step, verl-named metrics)."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from curiosft.verl_ext.rl_config import response_length

        self.cfg, self.rl, self.actor_cfg = cfg, cfg.rl, actor_cfg
        self.run_dir = Path(run_dir)
        self.score, self.log = score, log
        torch.set_num_threads(int(self.rl.threads))
        keep_freed_memory()  # before the model loads (rollouts decode on this CPU)
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.prompts = load_prompts(cfg.data.rl_train, self.tokenizer, int(cfg.data.max_prompt_length))
        self.total_steps = total_steps(len(self.prompts), int(self.rl.batch_size), int(self.rl.epochs), self.rl.max_steps)
        self.max_new_tokens = response_length(cfg)
        self.step = 0
        resume = latest_checkpoint(self.run_dir)
        self.model = AutoModelForCausalLM.from_pretrained(
            resume / "actor" / "huggingface" if resume else model_path, dtype=torch.float32)
        optim = actor_cfg.optim
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=optim.lr, betas=tuple(optim.betas),
                                           weight_decay=optim.weight_decay)
        if resume:
            self._load_state(resume / "actor" / STATE_FILE)
        else:
            random.seed(cfg.seed), np.random.seed(cfg.seed), torch.manual_seed(cfg.seed)
        self.generator = HFGenerator(self.model, self.tokenizer, batch_size=int(self.rl.rollout_batch_size))

    # ------------------------------------------------------------------------------------------ loop
    def fit(self, progress: bool = True, stop: StopRequest | None = None) -> None:
        """Train to total_steps; on a stop request (curiosft.preemption), save the step just trained and
        return early (self.step < self.total_steps)."""
        from tqdm import tqdm

        bar = tqdm(total=self.total_steps, initial=self.step, desc="GRPO", unit="step", disable=not progress)
        while self.step < self.total_steps:
            started = time.perf_counter()
            metrics = self.train_step(self._batch(self.step))
            self.step += 1
            metrics["timing_s/step"] = time.perf_counter() - started
            self.log(self.step, metrics)
            stopping = stop is not None and stop.requested and self.step < self.total_steps
            if self.step % int(self.rl.save_freq) == 0 or self.step == self.total_steps or stopping:
                self.save_checkpoint()
            bar.update(1)
            bar.set_postfix(reward=f"{metrics['critic/score/mean']:.3f}", entropy=f"{metrics['actor/entropy']:.3f}")
            if metrics["critic/score/max"] == metrics["critic/score/min"]:
                bar.write(f"curiosft: GRPO step {self.step}: every reward was {metrics['critic/score/mean']:g} "
                          "(all advantages 0: no learning signal this step)")
            if stopping:
                print(f"curiosft: stop requested; stopped after the checkpoint of step {self.step}", flush=True)
                break
        bar.close()

    def _batch(self, step: int) -> list[EvalPrompt]:
        """The prompts of a step: each epoch a fresh permutation seeded by (seed, epoch), as verl's sampler."""
        batch_size = int(self.rl.batch_size)
        per_epoch = len(self.prompts) // batch_size
        epoch, index = divmod(step, per_epoch)
        order = np.random.RandomState(int(self.cfg.seed) * 1000 + epoch).permutation(len(self.prompts))
        return [self.prompts[i] for i in order[index * batch_size:(index + 1) * batch_size]]

    def train_step(self, prompts: list[EvalPrompt]) -> dict:
        from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage

        n = int(self.rl.n_rollouts)
        self.model.eval()
        settings = SamplingSettings(n=n, temperature=float(self.rl.temperature), top_p=float(self.rl.top_p),
                                    top_k=self.rl.top_k, max_new_tokens=self.max_new_tokens,
                                    seed=int(self.cfg.seed) * 100_003 + self.step)
        completions = self.generator.generate([p.messages for p in prompts], settings, [p.prompt_id for p in prompts])
        flat = [(i, p, c) for i, (p, cs) in enumerate(zip(prompts, completions)) for c in cs]
        grades = self.score([{"response": c.text, "ground_truth": p.ground_truth, "data_source": p.data_source,
                              "choices": list(p.choices)} for _, p, c in flat])
        scores = torch.tensor([g["score"] for g in grades], dtype=torch.float32)
        batch = self._tensors([p for _, p, _ in flat], [c for _, _, c in flat])
        mask = batch["response_mask"]
        with torch.no_grad():
            old_log_probs, entropy = self._log_probs(batch, grad=False)
        rewards = torch.zeros_like(old_log_probs)
        last = mask.sum(dim=1).long().clamp(min=1) - 1
        rewards[torch.arange(len(flat)), last] = scores
        advantages, _ = compute_grpo_outcome_advantage(
            rewards, mask, np.array([i for i, _, _ in flat]), norm_adv_by_std_in_grpo=bool(self.rl.norm_adv_by_std))
        batch.update(old_log_probs=old_log_probs, advantages=advantages)
        update = self._update(batch)
        groups = scores.view(len(prompts), n)
        lengths = mask.sum(dim=1)
        return {
            "critic/score/mean": float(scores.mean()),
            "critic/score/max": float(scores.max()),
            "critic/score/min": float(scores.min()),
            "critic/advantages/mean": float((advantages * mask).sum() / mask.sum()),
            "actor/entropy": float((entropy * mask).sum() / mask.sum()),
            "response_length/mean": float(lengths.float().mean()),
            "response_length/clip_ratio": float((lengths >= self.max_new_tokens).float().mean()),
            # groups whose rollouts all scored the same get zero advantage: no learning signal
            "train/zero_std_groups": float((groups.std(dim=1) == 0).float().mean()),
            "train/pass_at_n": float((groups.max(dim=1).values > 0).float().mean()),
            **update,
        }

    # --------------------------------------------------------------------------------------- tensors
    def _tensors(self, prompts: list[EvalPrompt], completions) -> dict:
        """verl's layout: prompts left-padded to one length P, responses right-padded to R; input = [P | R]."""
        tok = self.tokenizer
        prompt_ids = {}
        rows = []
        for p, c in zip(prompts, completions):
            key = id(p)
            if key not in prompt_ids:
                prompt_ids[key] = encode_prompt(tok, p.messages)
            rows.append((prompt_ids[key], list(c.token_ids) or [self.generator.stop_ids[0]]))
        P = max(len(p) for p, _ in rows)
        R = max(len(r) for _, r in rows)
        pad = self.generator.pad_id
        input_ids = torch.full((len(rows), P + R), pad, dtype=torch.long)
        attention = torch.zeros((len(rows), P + R), dtype=torch.long)
        for i, (p, r) in enumerate(rows):
            input_ids[i, P - len(p):P] = torch.tensor(p)
            input_ids[i, P:P + len(r)] = torch.tensor(r)
            attention[i, P - len(p):P + len(r)] = 1
        return {"input_ids": input_ids, "attention_mask": attention, "response_mask": attention[:, P:].float(),
                "prompt_length": P}

    def _log_probs(self, batch: dict, *, grad: bool, rows: slice = slice(None)) -> tuple[torch.Tensor, torch.Tensor]:
        """Response-token log-probs and entropies at the rollout temperature (as verl's actor computes them).

        Only the response positions' logits are computed (logits_to_keep); a no-grad pass (old log-probs)
        takes as many rows at a time as fit LOGITS_BUDGET logits, never the whole [rows x tokens x vocab].
        """
        micro = int(self.rl.micro_batch_size_per_device)
        ids, att = batch["input_ids"][rows], batch["attention_mask"][rows]
        P = batch["prompt_length"]
        R = ids.shape[1] - P
        vocab = int(self.model.config.vocab_size)
        chunk = micro if grad else max(1, LOGITS_BUDGET // (R * vocab))
        out_lp, out_h = [], []
        for start in range(0, len(ids), chunk):
            i, a = ids[start:start + chunk], att[start:start + chunk]
            positions = (a.cumsum(dim=1) - 1).clamp(min=0)
            # the logits at positions P-1 .. P+R-2 predict the R response tokens
            logits = self.model(input_ids=i, attention_mask=a, position_ids=positions,
                                logits_to_keep=R + 1).logits[:, :-1].float()
            log_probs = torch.log_softmax(logits / float(self.rl.temperature), dim=-1)
            del logits
            out_lp.append(log_probs.gather(-1, i[:, P:, None]).squeeze(-1))
            out_h.append(entropy_from_log_probs(log_probs))
        return torch.cat(out_lp), torch.cat(out_h)

    # --------------------------------------------------------------------------------------- update
    def _update(self, batch: dict) -> dict:
        """ppo_epochs x mini-batches; each mini-batch is one optimizer step, accumulated over micro-batches."""
        from verl.trainer.ppo.core_algos import agg_loss, get_policy_loss_fn

        cfg = self.actor_cfg
        policy_loss = get_policy_loss_fn(cfg.policy_loss.get("loss_mode", "vanilla"))
        micro = int(self.rl.micro_batch_size_per_device)
        size = int(self.rl.mini_batch_size) * int(self.rl.n_rollouts)
        total = len(batch["input_ids"])
        self.model.train()
        sums: dict[str, list[float]] = {}
        for _ in range(int(self.rl.ppo_epochs)):
            for start in range(0, total, size):
                mini = slice(start, min(start + size, total))
                mask_all = batch["response_mask"][mini]
                cfg.global_batch_info.update(dp_size=1, batch_num_tokens=int(mask_all.sum()),
                                             global_batch_size=int(mask_all.shape[0]),
                                             loss_scale_factor=cfg.loss_scale_factor)
                self.optimizer.zero_grad(set_to_none=True)
                for m in range(mini.start, mini.stop, micro):
                    rows = slice(m, min(m + micro, mini.stop))
                    log_probs, entropy = self._log_probs(batch, grad=True, rows=rows)
                    mask = batch["response_mask"][rows]
                    loss, pg_metrics = policy_loss(
                        old_log_prob=batch["old_log_probs"][rows], log_prob=log_probs,
                        advantages=batch["advantages"][rows], response_mask=mask,
                        loss_agg_mode=cfg.loss_agg_mode, config=cfg)
                    sums.setdefault("actor/pg_loss", []).append(float(loss.detach()))
                    if cfg.entropy_coeff:
                        loss = loss - cfg.entropy_coeff * agg_loss(entropy, mask, cfg.loss_agg_mode,
                                                                    **cfg.global_batch_info)
                    loss.backward()
                    for key, value in pg_metrics.items():
                        sums.setdefault(key, []).append(float(value))
                grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.optim.clip_grad)
                if torch.isfinite(grad_norm):
                    self.optimizer.step()
                sums.setdefault("actor/grad_norm", []).append(float(grad_norm))
        metrics = {k: float(np.mean(v)) for k, v in sums.items()}
        # pg_loss per micro-batch is its share of the mini-batch loss: report the mini-batch loss
        metrics["actor/pg_loss"] = float(np.sum(sums["actor/pg_loss"])) / max(1, len(sums["actor/grad_norm"]))
        metrics["actor/lr"] = self.optimizer.param_groups[0]["lr"]
        return metrics

    # ----------------------------------------------------------------------------------- checkpoints
    def save_checkpoint(self) -> Path:
        """checkpoints/global_step_N/actor/{huggingface, local_state.pt}, then the tracker file (verl's)."""
        root = self.run_dir / "checkpoints"
        final = root / f"global_step_{self.step}"
        with atomic_path(final) as tmp:
            actor = tmp / "actor"
            self.model.save_pretrained(actor / "huggingface")
            self.tokenizer.save_pretrained(actor / "huggingface")
            torch.save({"optimizer": self.optimizer.state_dict(), "step": self.step,
                        "rng": {"python": random.getstate(), "numpy": np.random.get_state(),
                                "torch": torch.get_rng_state()}}, actor / STATE_FILE)
        with atomic_path(root / TRACKER) as tmp:
            tmp.write_text(str(self.step))
        return final

    def _load_state(self, path: Path) -> None:
        state = torch.load(path, weights_only=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        random.setstate(state["rng"]["python"]), np.random.set_state(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])
