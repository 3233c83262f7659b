"""The client calibration's rate search: up while steps pass, down when the first fails."""

import pytest

from arena.agent import headroom
from arena.agent.generator.client import Endpoint
from arena.agent.headroom import Step


def _box_holding(rate: float, tried: list[float]) -> object:
    """A fake step that passes at or below ``rate`` requests/s."""

    async def step(_: object, __: Endpoint, offsets_s: list[float], ___: float) -> Step:
        attempted = round(1 / (offsets_s[1] - offsets_s[0]), 3)
        tried.append(attempted)
        return Step(attempted <= rate, 0.0, 0.0, 0, 1)

    return step


async def _search(monkeypatch: pytest.MonkeyPatch, holds: float) -> tuple[float | None, bool]:
    tried: list[float] = []
    monkeypatch.setattr(headroom, "_step", _box_holding(holds, tried))
    deadline = float("inf")  # never out of time
    return await headroom._rate_search(None, Endpoint("x", "m"), deadline, 1.0)  # type: ignore[arg-type]


async def test_a_busy_box_steps_down_to_the_rate_it_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    assert await _search(monkeypatch, holds=60.0) == (50.0, False)


async def test_a_fast_box_steps_up_to_the_last_passing_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert await _search(monkeypatch, holds=1000.0) == (800.0, False)


async def test_a_box_holding_nothing_reports_none(monkeypatch: pytest.MonkeyPatch) -> None:
    assert await _search(monkeypatch, holds=1.0) == (None, False)


def test_every_step_is_judged_on_enough_requests_or_the_longest_step() -> None:
    for rate in (12.5, 50.0, 200.0, 400.0, 3200.0):
        span_s = headroom._step_s(rate)
        assert rate * span_s >= headroom.STEP_REQUESTS or span_s == headroom.MAX_STEP_S
        assert span_s >= headroom.MIN_STEP_S


async def test_a_calibration_server_that_cannot_start_skips_calibration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(headroom, "SERVER_COMMAND", ("/nonexistent/python",))
    assert await headroom.calibrate() is None
