"""glibc's allocator settings for generation on CPU.

Decoding with transformers' dynamic KV cache allocates and frees tensors of a few MB at every step (the
cache grown by torch.cat, the grouped-query heads repeated). Above glibc's mmap threshold each one is a
fresh mmap whose pages fault in and are unmapped on free: on the tiny world's multiple-choice evaluation
(200 prompts x 4 samples, 1 thread) that was 13 s of system time in 32 s of wall time. Raising the
threshold and the trim threshold keeps freed blocks in the heap for the next step; the samples are the
same bit for bit (`benchmarks/demo_time.py`, docs/performance.md "The demo"). The price is memory: a
process may keep up to the trim threshold (256 MiB) of free heap (SmolLM2-135M's evaluation peaked at
2.00 GB resident instead of under 2.0; tests/test_real_model.py allows for it).

The parameters and their limits: mallopt(3) (M_MMAP_THRESHOLD at most 32 MiB on 64-bit glibc).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 256 * 1024 * 1024


@functools.cache
def keep_freed_memory() -> bool:
    """Tell glibc to keep blocks under 32 MiB in the heap and to return free heap memory above 256 MiB only:
    once per process; False where the C library is not glibc (musl, macOS), which then keeps its own."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
