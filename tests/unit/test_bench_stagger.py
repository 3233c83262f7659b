"""The stagger bench's grouping: batches are told apart by the pause between them."""

import pytest

from bench.stagger import batch_spreads_ms


def test_batches_of_the_asked_size_give_their_first_to_last_spread() -> None:
    arrivals = [
        10.0,  # a lone latency probe: not a batch
        11.0,
        11.0004,
        11.0011,
        11.0020,  # a batch of 4, 2.0 ms wide
        12.5,
        12.5001,
        12.5003,
        12.5009,  # 0.9 ms wide
        14.0,
        14.001,  # a batch of 2: not the size asked for
    ]
    assert batch_spreads_ms(list(reversed(arrivals)), 4) == pytest.approx([2.0, 0.9])


def test_nothing_arrived_gives_no_batches() -> None:
    assert batch_spreads_ms([], 4) == []
