"""The metric catalogue is the one definition: every key once, every listing reads it."""

from arena.common.metrics.catalogue import CATALOGUE, HEADLINE, METRICS, Better, metric
from arena.common.metrics.closed_loop import (
    BENCHY_METRICS,
    SINGLE_REQUEST_TOTALS,
    with_single_request_totals,
)


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
            assert found is metric(found.key) and found.kind == kind
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
