"""A session benchmark's trace, from its ``TraceSource``: a file on this box, or generated.

Reading is synchronous file work, so it runs in a thread. A file's path is used as given: the
agent resolves it against its policy's ``models_dir`` before the benchmark reaches the
generator (``jobs.py``).
"""

import asyncio

from arena.common.schemas.suite import TraceSource
from arena.common.traces.format import Trace
from arena.common.traces.io import read_trace
from arena.common.traces.mooncake import MOONCAKE_BLOCK_SIZE, read_mooncake


async def load_trace(source: TraceSource, seed: int) -> Trace:
    if source.path is None:
        raise NotImplementedError(
            f"trace profile {source.profile!r}: the trace generator is not wired in yet"
        )
    if source.format == "mooncake":
        block_size = source.block_size or MOONCAKE_BLOCK_SIZE
        return await asyncio.to_thread(read_mooncake, source.path, block_size, source.sessions)
    return await asyncio.to_thread(read_trace, source.path, source.sessions)
