"""A Ray cluster over the nodes of a multi-node SLURM job, for verl's `main_ppo` (the GPU RL backend).

Every node of the job runs the same StageJob; the first starts the Ray head and the trainer, the others
join the head and block until it stops. On one node nothing is started: verl's own `ray.init()` makes a
local cluster.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from curiosft.errors import StageFailed

RAY_PORT = 6379


def ray_start_command(topo, gpus_per_node: int) -> list[str]:
    if topo.node_rank == 0:
        return ["ray", "start", "--head", f"--port={RAY_PORT}", f"--num-gpus={gpus_per_node}"]
    return ["ray", "start", f"--address={topo.master_addr}:{RAY_PORT}", f"--num-gpus={gpus_per_node}", "--block"]


@contextmanager
def ray_cluster(topo, gpus_per_node: int, *, join_timeout_s: float = 600) -> Iterator[bool]:
    """Yields True on the node that should run the trainer (the head), False on the others (after their
    `ray start --block` returned, i.e. once the head stopped the cluster)."""
    if topo.nnodes <= 1:
        yield True
        return
    if topo.node_rank != 0:
        subprocess.run(ray_start_command(topo, gpus_per_node), check=False)
        yield False
        return
    subprocess.run(ray_start_command(topo, gpus_per_node), check=True)
    os.environ["RAY_ADDRESS"] = f"{socket.gethostname()}:{RAY_PORT}"
    try:
        _wait_for_nodes(topo.nnodes, join_timeout_s)
        yield True
    finally:
        subprocess.run(["ray", "stop", "--force"], check=False)


def _wait_for_nodes(n: int, timeout_s: float) -> None:
    import ray

    ray.init(address="auto")
    try:
        deadline = time.monotonic() + timeout_s
        while sum(1 for node in ray.nodes() if node["Alive"]) < n:
            if time.monotonic() > deadline:
                raise StageFailed(f"only {sum(1 for x in ray.nodes() if x['Alive'])} of {n} nodes joined the Ray "
                                   f"cluster in {timeout_s:g} s")
            time.sleep(2)
    finally:
        ray.shutdown()
