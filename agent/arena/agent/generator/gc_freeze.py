"""Garbage collection kept out of the measured window.

Python's full collections scan every tracked object. In a freshly started client process (a
worker, or the agent after importing everything) the first one during a run scans all the
import-time objects and stalls the event loop for tens of milliseconds: every request due
then leaves late. Collecting once before the run and freezing the survivors leaves the
collector only what the run itself allocates.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Collect now, keep what survives out of every collection until the block ends."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
