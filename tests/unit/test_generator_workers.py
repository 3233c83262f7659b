"""How an open-loop schedule is dealt to worker processes."""

from arena.agent.generator.client import ChatRequest, Endpoint, prepare
from arena.agent.generator.open_loop import Scheduled
from arena.agent.generator.workers import deal, worker_gates


def schedule(n: int) -> list[Scheduled]:
    request = prepare(Endpoint("http://x", "m"), ChatRequest([{"role": "user", "content": "x"}], 4))
    return [Scheduled(i, request, i * 0.01) for i in range(n)]


def test_deal_is_disjoint_complete_and_time_ordered() -> None:
    items = schedule(11)
    slices = deal(items, 3)
    assert [len(s) for s in slices] == [4, 4, 3]
    assert sorted(item.index for part in slices for item in part) == list(range(11))
    for part in slices:
        assert [item.offset_s for item in part] == sorted(item.offset_s for item in part)
    assert [item.index for item in slices[1]] == [1, 4, 7, 10]


def test_more_workers_than_requests_leaves_some_idle() -> None:
    assert [len(s) for s in deal(schedule(2), 4)] == [1, 1, 0, 0]


def test_gate_shares_round_up() -> None:
    assert worker_gates(None, 3) == [None, None, None]
    assert worker_gates(10, 3) == [4, 4, 4]
    assert worker_gates(4, 2) == [2, 2]
