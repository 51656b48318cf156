"""The CurioSFT loss head as one autograd Function, for memory and speed at large vocabularies.

Per token: l = -log pi(y) + alpha/2 (log pi(y) - log q(y))^2, so dl/dz = w (onehot(y) - softmax(z)) with
w = -1 + alpha (log pi(y) - log q(y)). The forward keeps only per-token vectors (log-normaliser, log pi,
log q); the backward recomputes softmax chunk by chunk straight into the one gradient tensor. A single
[chunk x vocab] scratch buffer is reused for every chunk: no [tokens x vocab] tensor is saved or
allocated beyond the gradient itself (cross-entropy saves its log-softmax output as well).
"""

from __future__ import annotations

import torch

from curiosft.objectives.temperature import TemperatureSchedule, upcast


def _exp_shifted(z: torch.Tensor, buf: torch.Tensor, scale: torch.Tensor | None = None):
    """buf <- exp((z - max) * scale) in place; returns (max, sum of buf)."""
    mx = z.amax(dim=-1, keepdim=True)
    torch.sub(z, mx, out=buf)
    if scale is not None:
        buf.mul_(scale.unsqueeze(-1))
    buf.exp_()
    return mx.squeeze(-1), buf.sum(dim=-1)


def _row_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.bmm(a.unsqueeze(1), b.unsqueeze(2)).reshape(-1)


class CurioSFTHead(torch.autograd.Function):
    @staticmethod
    def forward(ctx, student, teacher, targets, alpha: float, schedule: TemperatureSchedule,
                progress: float, chunk_size: int, with_entropy: bool, stats: dict):
        """Per-token losses [tokens]; per-token statistics (no grad) are written into `stats`."""
        n, vocab = student.shape
        dtype = upcast(student[:1, :1]).dtype
        lse, log_pi, log_q, tau = (torch.empty(n, dtype=dtype) for _ in range(4))
        entropy = torch.empty(n, dtype=dtype) if with_entropy else None
        teacher_entropy = torch.empty(n, dtype=dtype) if with_entropy else None
        scratch = torch.empty(min(chunk_size, n), vocab, dtype=dtype, device=student.device)
        for start in range(0, n, chunk_size):
            end = min(start + chunk_size, n)
            buf, y = scratch[: end - start], targets[start:end].unsqueeze(-1)
            z = upcast(student[start:end])
            mx, total = _exp_shifted(z, buf)
            lse[start:end] = mx + total.log()
            log_pi[start:end] = z.gather(-1, y).squeeze(-1) - lse[start:end]
            if with_entropy:
                entropy[start:end] = lse[start:end] - _row_dot(buf, z) / total
            zt = upcast(teacher[start:end])
            t = schedule(zt, progress).to(dtype)
            inv_t = 1.0 / t
            mt, total_t = _exp_shifted(zt, buf, inv_t)
            lse_q = mt * inv_t + total_t.log()
            log_q[start:end] = zt.gather(-1, y).squeeze(-1) * inv_t - lse_q
            tau[start:end] = t
            if with_entropy:
                teacher_entropy[start:end] = lse_q - _row_dot(buf, zt) * inv_t / total_t
        del scratch
        diff = log_pi - log_q
        per_token = -log_pi + alpha * 0.5 * diff**2
        ctx.save_for_backward(student, targets, lse, diff)
        ctx.alpha, ctx.chunk_size = alpha, chunk_size
        stats.update(nll=-log_pi, tau=tau, distill=0.5 * diff**2, teacher_nll=-log_q)
        if with_entropy:
            stats.update(entropy=entropy, teacher_entropy=teacher_entropy)
        return per_token

    @staticmethod
    def backward(ctx, grad_out):
        student, targets, lse, diff = ctx.saved_tensors
        n = student.shape[0]
        # dl/dlog pi per token times the upstream gradient of that token's loss
        w = (-1.0 + ctx.alpha * diff) * grad_out.to(diff.dtype)
        grad = torch.empty_like(student)
        same_dtype = grad.dtype == diff.dtype
        scratch = None if same_dtype else torch.empty(min(ctx.chunk_size, n), student.shape[1], dtype=diff.dtype)
        for start in range(0, n, ctx.chunk_size):
            end = min(start + ctx.chunk_size, n)
            buf = grad[start:end] if same_dtype else scratch[: end - start]
            torch.sub(upcast(student[start:end]), lse[start:end].unsqueeze(-1), out=buf)
            buf.exp_()
            buf.mul_(-w[start:end].unsqueeze(-1))
            buf.scatter_add_(-1, targets[start:end].unsqueeze(-1), w[start:end].unsqueeze(-1))
            if not same_dtype:
                grad[start:end].copy_(buf)
        return grad, None, None, None, None, None, None, None, None
