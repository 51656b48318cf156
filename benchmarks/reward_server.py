"""Reward server benchmark: HTTP throughput against the same scoring pool in-process, and latency under
pathological inputs.

    python benchmarks/reward_server.py                    # 2,000 pairs, 2 workers, 10 s timeout
    python benchmarks/reward_server.py --timeout 2        # quicker latency part

0. Grader throughput (target >= 0.9x): the default grader against the release's, in-process on the same
   pairs (the corrected grader must not cost the RL reward its speed).
1. Throughput (target >= 0.85x): the same 2,000 (response, ground truth) pairs (curiosft.reward.loadgen:
   boxed integers, fractions and expressions for math-verify, missing </think>) scored (a) in-process by
   one `ScoringPool.score` call, the baseline, and (b) through a server started by `reward_service`
   with the same pool size, sent as batches of --batch items by --clients concurrent clients.
2. Latency (target p99 <= timeout + 0.5 s): single-item requests, the way verl's reward loop calls
   `compute_score` (one response per call, several threads), with 5% pathological answers mixed in.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from curiosft.reward.client import RewardClient
from curiosft.reward.lifecycle import reward_service
from curiosft.reward.loadgen import make_pairs
from curiosft.scoring import DEFAULT_GRADER, ScoreItem, ScoringPool


def in_process(pairs, workers: int, timeout: float, grader: str = DEFAULT_GRADER) -> float:
    items = [ScoreItem(p["response"], p["ground_truth"]) for p, _ in pairs]
    with ScoringPool(workers, timeout, grader) as pool:
        pool.score(items[:8], "rl")  # workers started and warm, as in a running server
        started = time.perf_counter()
        grades = pool.score(items, "rl")
        elapsed = time.perf_counter() - started
    check([g.score for g in grades], pairs)
    return elapsed


def over_http(pairs, url: str, clients: int, batch: int) -> float:
    client = RewardClient(url)
    client.score([p for p, _ in pairs[:8]])
    batches = [pairs[i:i + batch] for i in range(0, len(pairs), batch)]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda b: client.score([p for p, _ in b], "rl"), batches))
    elapsed = time.perf_counter() - started
    check([r["score"] for rs in results for r in rs], pairs)
    return elapsed


def check(scores, pairs) -> None:
    wrong = sum(1 for s, (_, expected) in zip(scores, pairs) if expected is not None and s != expected)
    if wrong:
        raise SystemExit(f"{wrong} of {len(pairs)} items scored differently from their expected score")


def latencies(url: str, pairs, clients: int) -> list[float]:
    client = RewardClient(url)

    def one(pair) -> float:
        started = time.perf_counter()
        client.score([pair[0]], "rl")
        return time.perf_counter() - started

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, pairs))


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--latency-requests", type=int, default=400)
    args = parser.parse_args()

    pairs = make_pairs(args.pairs, seed=0)
    release = in_process(pairs, args.workers, args.timeout, "release")
    baseline = in_process(pairs, args.workers, args.timeout)
    grader_ratio = release / baseline
    print(f"graders: {args.pairs} pairs in-process, {args.workers} scoring workers")
    print(f"  release grader                 {release:7.2f} s  ({args.pairs / release:7.0f} items/s)  baseline")
    print(f"  {DEFAULT_GRADER} grader (default)     {baseline:7.2f} s  ({args.pairs / baseline:7.0f} items/s)")
    print(f"  ratio default/release: {grader_ratio:.2f}x  (target >= 0.9x: {'met' if grader_ratio >= 0.9 else 'NOT met'})")
    with reward_service(workers=args.workers, timeout_s=args.timeout) as url:
        served = over_http(pairs, url, args.clients, args.batch)
        mixed = make_pairs(args.latency_requests, pathological_fraction=0.05, seed=1)
        lat = latencies(url, mixed, args.clients)
    ratio = baseline / served
    p50, p99 = statistics.median(lat), percentile(lat, 99)
    n_bad = sum(1 for _, e in mixed if e is None)
    print(f"throughput: {args.pairs} pairs, {args.workers} scoring workers")
    print(f"  in-process ScoringPool.score   {baseline:7.2f} s  ({args.pairs / baseline:7.0f} items/s)  baseline")
    print(f"  HTTP, {args.clients} clients x {args.batch}/req  {served:7.2f} s  ({args.pairs / served:7.0f} items/s)")
    print(f"  ratio server/in-process: {ratio:.2f}x  (target >= 0.85x: {'met' if ratio >= 0.85 else 'NOT met'})")
    print(f"latency: {len(mixed)} single-item requests from {args.clients} clients, {n_bad} pathological, "
          f"timeout {args.timeout:g} s")
    print(f"  p50 {p50 * 1000:.1f} ms   p99 {p99:.2f} s   max {max(lat):.2f} s  "
          f"(target p99 <= {args.timeout + 0.5:g} s: {'met' if p99 <= args.timeout + 0.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
