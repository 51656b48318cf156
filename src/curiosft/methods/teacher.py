"""A second copy of the base model whose logits a method's loss reads (curiosft.methods.logits_method):
CurioSFT's teacher, pulled toward the student every `sync_every` steps, or ASFT's frozen reference.

The teacher is built by the student's own engine from the base model (FSDP modules cannot be deep-
copied), so it starts as the base model and is sharded exactly like the student: the sync
ref <- (1 - a) ref + a student is a local operation on each rank's shards. Its state is saved next to
every checkpoint and restored on resume.
"""

from __future__ import annotations

from pathlib import Path

import torch

from curiosft.errors import MissingInputError


def _local(t: torch.Tensor) -> torch.Tensor:
    return t.to_local() if hasattr(t, "to_local") else t


class Teacher:
    def __init__(self, module: torch.nn.Module, *, sync_every: int | None, sync_mix: float) -> None:
        """sync_every: steps between syncs toward the student (None: frozen at the base model)."""
        self.module = module
        self.module.eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.sync_every = None if sync_every is None else int(sync_every)
        self.sync_mix = float(sync_mix)
        self.syncs = 0

    @classmethod
    def from_engine(cls, engine, *, sync_every: int | None, sync_mix: float) -> Teacher:
        """A second copy of the base model, built and FSDP-wrapped by verl's engine like the student."""
        module = engine._build_fsdp_module(engine._build_module())
        return cls(module, sync_every=sync_every, sync_mix=sync_mix)

    @torch.no_grad()
    def logits(self, model_inputs: dict) -> torch.Tensor:
        return self.module(**model_inputs, use_cache=False).logits

    @torch.no_grad()
    def maybe_sync(self, student: torch.nn.Module, step: int) -> bool:
        """After optimizer step `step`: ref <- (1 - a) ref + a student when step is a multiple of sync_every."""
        if self.sync_every is None or step % self.sync_every:
            return False
        for ref, cur in zip(self.module.parameters(), student.parameters(), strict=True):
            _local(ref).lerp_(_local(cur).to(_local(ref).dtype), self.sync_mix)
        self.syncs += 1
        return True

    def state_path(self, checkpoint_dir: Path, rank: int) -> Path:
        return Path(checkpoint_dir) / f"curiosft_teacher_rank{rank}.pt"

    def save(self, checkpoint_dir: Path, rank: int) -> None:
        shards = [_local(p).detach().clone() for p in self.module.parameters()]
        path = self.state_path(checkpoint_dir, rank)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save({"shards": shards, "syncs": self.syncs}, tmp)
        tmp.replace(path)

    @torch.no_grad()
    def load(self, checkpoint_dir: Path, rank: int) -> None:
        path = self.state_path(checkpoint_dir, rank)
        if not path.is_file():
            raise MissingInputError(
                f"{path} is missing: the checkpoint was not written by a run of a method with a teacher or "
                "reference copy (curiosft, asft), so that copy cannot be restored; start the run afresh in an "
                "empty directory"
            )
        state = torch.load(path, map_location="cpu", weights_only=True)
        for p, shard in zip(self.module.parameters(), state["shards"], strict=True):
            _local(p).copy_(shard)
        self.syncs = int(state["syncs"])
