import gc
import weakref

import pytest

from arena.agent.generator.gc_freeze import frozen_heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_collects_first_then_freezes_the_survivors_until_the_block_ends() -> None:
    garbage = weakref.ref(Node())
    kept = Node()
    with frozen_heap():
        assert garbage() is None
        assert gc.get_freeze_count() > 0
        assert gc.is_tracked(kept)
    assert gc.get_freeze_count() == 0


def test_unfreezes_when_the_run_fails() -> None:
    with pytest.raises(RuntimeError), frozen_heap():
        raise RuntimeError("run failed")
    assert gc.get_freeze_count() == 0
