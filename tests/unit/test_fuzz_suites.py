"""Property: whatever a suite file contains, loading it either succeeds or raises SuiteError
naming the problem, never anything else."""

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arena.common.errors import SuiteError
from arena.common.suites.loader import load_suite_text
from arena.common.suites.validation import KNOWN_FIELDS, UNION_TAGS

GOOD = {
    "name": "fuzz",
    "suite": "arena-v1",
    "models": [{"name": "m", "engine": "sim"}],
    "engines": {"sim": {"runtime": "simulated"}},
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(sorted(UNION_TAGS)),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KNOWN_FIELDS) | st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=12,
)


def load(text: str) -> None:
    try:
        load_suite_text(text, "fuzz.yaml")
    except SuiteError as error:
        assert str(error).startswith("fuzz.yaml")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KNOWN_FIELDS), values, max_size=6))
def test_random_documents_load_or_fail_cleanly(document: dict[str, object]) -> None:
    load(yaml.safe_dump(document))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(GOOD)), values)
def test_one_corrupted_field_of_a_good_suite(field: str, value: object) -> None:
    load(yaml.safe_dump({**GOOD, field: value}))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    load(text)
