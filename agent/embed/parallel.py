"""Bulk embedding on every core: chunks embedded by worker threads, handed back in order.

Each worker embeds a whole chunk with a single-threaded model run (onnxruntime releases the
GIL, and concurrent runs of one session do not wait for each other). Independent runs rather
than one run split across intra-op threads: they never meet between operators, so a worker
that the scheduler pauses (Postgres and other work share the cores) does not stall the
others; on such a host two intra-op threads measured slower than one. The caller gets
chunk ``i`` while the workers already embed the next ones, so whatever it does with the
vectors (the history loader writes them to Postgres) overlaps the embedding.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Generator, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice

import numpy as np

from agent.embed.base import Embedder


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def embed_chunks(
    embedder: Embedder, chunks: Iterable[Sequence[str]], *, workers: int
) -> Generator[np.ndarray, None, None]:
    """Each chunk's vectors, in input order, with ``workers`` chunks embedded at once.

    ``workers`` <= 1 embeds each chunk when it is asked for, in the caller's thread. A chunk
    that fails raises when its turn comes, after every chunk before it has been yielded; chunks
    not yet started are then dropped.
    """
    if workers <= 1:
        yield from (embedder.embed(chunk) for chunk in chunks)
        return
    pending = iter(chunks)
    in_flight: deque[Future[np.ndarray]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bulk-embed") as pool:
        try:
            for chunk in islice(pending, workers):
                in_flight.append(pool.submit(embedder.embed, chunk))
            while in_flight:
                vectors = in_flight.popleft().result()
                # Refill before handing the vectors over: the workers stay busy meanwhile.
                for chunk in islice(pending, 1):
                    in_flight.append(pool.submit(embedder.embed, chunk))
                yield vectors
        finally:
            for future in in_flight:
                future.cancel()
