"""Loss-head benchmark: time and peak memory of the CurioSFT and PSFT heads versus plain cross-entropy.

    python benchmarks/loss_head.py                 # vocab 151,936 x 2,048 tokens, fp32, CPU
    python benchmarks/loss_head.py --tokens 256    # quicker

Each variant runs in its own process (forward + backward, teacher logits given) so its peak resident
memory is its own; memory is reported above the inputs (student + teacher logits). Ratios are against
plain cross-entropy measured in the same run. Targets (issue 3): CurioSFT peak <= 1.5x, time <= 2.5x.
`curiosft` is the loss alone (like cross-entropy); `curiosft_with_entropy` adds the student's and the
tempered teacher's entropy metrics; `curiosft_naive` writes the formulas on whole [tokens, vocab] tensors.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

VARIANTS = ["cross_entropy", "psft", "curiosft", "curiosft_with_entropy", "curiosft_naive"]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def naive_curiosft(student, teacher, targets, mask, tau_min=1.1, tau_max=1.5, top_k=512, b=0.5, c=2.0, h0=1.2,
                   eps_h=0.03, iters=20):
    """The formulas of docs/methods.md written directly on the whole [tokens, vocab] tensors."""
    log_pi_all = torch.log_softmax(student, -1)
    log_pi = log_pi_all.gather(-1, targets[:, None]).squeeze(-1)
    with torch.no_grad():
        top = teacher.topk(top_k, -1).values

        def ent(z):
            p = torch.softmax(z, -1)
            return -(p * torch.log_softmax(z, -1)).sum(-1)

        h = ent(top)
        target = h + b * torch.sigmoid(c * (h - h0))
        lo, hi = torch.full_like(h, tau_min), torch.full_like(h, tau_max)
        for _ in range(iters):
            mid = (lo + hi) / 2
            cold = ent(top / mid[:, None]) < target
            lo, hi = torch.where(cold, mid, lo), torch.where(cold, hi, mid)
        tau = torch.where(ent(teacher) <= eps_h, torch.full_like(h, tau_min), (lo + hi) / 2)
        log_q = torch.log_softmax(teacher / tau[:, None], -1).gather(-1, targets[:, None]).squeeze(-1)
        student_entropy = -(log_pi_all.exp() * log_pi_all).sum(-1)  # the metric every method logs
    per_token = -log_pi + 0.5 * (log_pi - log_q) ** 2
    return (per_token * mask).sum() / mask.sum(), student_entropy


def run_variant(name: str, tokens: int, vocab: int, repeats: int, threads: int) -> dict:
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    student = (torch.randn(tokens, vocab, generator=g) * 2).requires_grad_()
    teacher = torch.randn(tokens, vocab, generator=g) * 2
    targets = torch.randint(0, vocab, (tokens,), generator=g)
    mask = torch.ones(tokens)
    old_log_prob = torch.randn(tokens, generator=g) * 0.1 - 5
    base = _rss_bytes()

    from curiosft.objectives import curiosft_loss, psft_loss
    from curiosft.objectives.losses import token_log_probs

    def step():
        if name == "cross_entropy":
            loss = F.cross_entropy(student, targets)
        elif name == "psft":
            log_prob, _ = token_log_probs(student, targets)
            loss, _ = psft_loss(log_prob, old_log_prob, mask)
        elif name == "curiosft":
            loss, _ = curiosft_loss(student, teacher, targets, mask, chunk_size=256, with_entropy=False)
        elif name == "curiosft_with_entropy":
            loss, _ = curiosft_loss(student, teacher, targets, mask, chunk_size=256, with_entropy=True)
        elif name == "curiosft_naive":
            loss, _ = naive_curiosft(student, teacher, targets, mask)
        else:
            raise ValueError(f"unknown variant {name!r}; choose one of {', '.join(VARIANTS)}")
        loss.backward()
        student.grad = None

    step()  # warm-up (allocator, kernels)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return {"variant": name, "seconds": statistics.median(times), "peak_bytes": _peak_bytes() - base}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=2048)
    parser.add_argument("--vocab", type=int, default=151_936)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.tokens, args.vocab, args.repeats, args.threads)))
        return

    results = {}
    for name in VARIANTS:
        cmd = [sys.executable, __file__, "--variant", name, "--tokens", str(args.tokens), "--vocab", str(args.vocab),
               "--repeats", str(args.repeats), "--threads", str(args.threads)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results[name] = json.loads(out.strip().splitlines()[-1])
        print(f"  measured {name}", file=sys.stderr)
    base = results["cross_entropy"]
    print(f"loss head, {args.tokens} tokens x vocab {args.vocab:,}, fp32, {args.threads} CPU threads "
          f"(forward + backward; memory above the inputs)")
    print(f"{'variant':22s} {'time (s)':>9s} {'x CE':>6s} {'peak (GiB)':>11s} {'x CE':>6s}")
    for name, r in results.items():
        print(f"{name:22s} {r['seconds']:9.3f} {r['seconds'] / base['seconds']:6.2f} "
              f"{r['peak_bytes'] / 2**30:11.2f} {r['peak_bytes'] / base['peak_bytes']:6.2f}")
    naive = results["curiosft_naive"]
    for name in ("curiosft", "curiosft_with_entropy"):
        print(f"{name} vs the naive implementation: time x{results[name]['seconds'] / naive['seconds']:.2f}, "
              f"peak memory x{results[name]['peak_bytes'] / naive['peak_bytes']:.2f}")


if __name__ == "__main__":
    main()
