"""The metric catalogue is the one definition: every key once, every listing reads it."""

import itertools

import pytest

from arena.common.metrics.catalogue import CATALOGUE, HEADLINE, METRICS, Better, metric, slo_key
from arena.common.metrics.closed_loop import (
    BENCHY_METRICS,
    SINGLE_REQUEST_TOTALS,
    with_single_request_totals,
)
from arena.common.metrics.sessions import TURN_BUCKETS


def test_each_metric_is_defined_once_with_a_label_and_a_description() -> None:
    assert len(CATALOGUE) == len(METRICS)
    for found in METRICS:
        assert found.label and found.description and found.digits >= 0
        assert found.better in Better


def test_the_headline_of_each_kind_comes_from_the_catalogue_in_its_order() -> None:
    assert [m.key for m in HEADLINE["open_loop"]][:3] == [
        "completed",
        "request_throughput",
        "output_throughput",
    ]
    for kind, metrics in HEADLINE.items():
        for found in metrics:
            assert found is metric(found.key) and found.kind in (kind, None)
    assert set(BENCHY_METRICS) <= set(CATALOGUE)
    assert metric("median_ttft_ms").header == "TTFT p50 ms"
    assert metric("score").header == "score"


def test_the_single_request_rule_copies_the_per_request_speeds_only_at_c_1() -> None:
    values = {"pp_req_throughput": 10.0, "tg_req_throughput": 20.0, "pp_throughput": 1.0}
    assert with_single_request_totals(values, 2, None) == values
    once = with_single_request_totals(values, 1, None)
    assert once["pp_throughput"] == 10.0 and once["tg_throughput"] == 20.0
    assert values["pp_throughput"] == 1.0  # a copy
    assert with_single_request_totals({}, 1, 0.0) == dict.fromkeys(SINGLE_REQUEST_TOTALS, 0.0)


SESSION_KEYS = (
    "load",
    "sessions",
    "turns",
    "completed",
    "failed",
    "output_throughput",
    "ttft_first_mean_ms",
    "ttft_first_p95_ms",
    "ttft_later_mean_ms",
    "ttft_later_p95_ms",
    "session_time_mean_s",
    "session_time_p95_s",
    "session_output_tps_mean",
    "cache_hit_pct",
)


def test_every_session_metric_key_is_described_with_the_agreed_buckets() -> None:
    for key in (*SESSION_KEYS, *(bucket[1] for bucket in TURN_BUCKETS)):
        assert metric(key).description
    assert [bucket[1] for bucket in TURN_BUCKETS] == [
        "ttft_turn_1_p50_ms",
        "ttft_turn_2_p50_ms",
        "ttft_turn_3_p50_ms",
        "ttft_turn_4_5_p50_ms",
        "ttft_turn_6_9_p50_ms",
        "ttft_turn_10_17_p50_ms",
        "ttft_turn_18_33_p50_ms",
        "ttft_turn_34up_p50_ms",
    ]
    # contiguous from turn 1, the last one open-ended
    for (_, _, _, last), (_, _, first, _) in itertools.pairwise(TURN_BUCKETS):
        assert last is not None and first == last + 1
    assert TURN_BUCKETS[0][2] == 1 and TURN_BUCKETS[-1][3] is None


def test_any_slo_tier_key_is_described_from_the_template() -> None:
    agent = metric(slo_key("agent"))
    assert agent.key == "slo_agent_pct" and agent.header == "agent SLO %"
    assert "agent tier" in agent.description and agent.better is Better.HIGHER
    assert metric("slo_my-tier.2_pct").label == "my-tier.2 SLO"
    with pytest.raises(KeyError):
        metric("slo__pct")
    with pytest.raises(KeyError):
        metric("no_such_metric")
