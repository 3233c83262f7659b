"""The capacity search's policy: which load to measure next, given the steps measured so far.

Bracket: ``start``, then doubling (capped at ``max``) while steps pass; the first failing step
closes the bracket. Bisect: the midpoint of the highest passing and the lowest failing load,
until they are within ``resolution`` or ``max_steps`` steps were measured. Users are whole
numbers (the resolution is at least 1); session rates are rounded to 4 significant digits so
variant keys stay readable. No load exceeds ``max`` (rounded down, so ``srate…``/``u…`` keys
are ones ``suites.variants.session_variant_allowed`` accepts): a users search whose ``max``
is below 1 measures nothing. A first step that fails ends the search: nothing below ``start``
is measured (lower it to look there). Every load returned is measured; none is interpolated.
"""

import math

from arena.common.schemas.suite import LoadSearch

RATE_DIGITS = 4


class CapacitySearch:
    def __init__(self, search: LoadSearch) -> None:
        self._search = search
        self._integer = search.over == "users"
        self._max = self._round(search.max, down=True)
        self.steps: list[tuple[float, bool]] = []
        """(load, passed) in the order measured."""
        self.passing: float | None = None
        """The highest load that passed."""
        self.failing: float | None = None
        """The lowest load that failed."""

    def next_load(self) -> float | None:
        """The next load to measure; ``None`` when the search is over."""
        if len(self.steps) >= self._search.max_steps:
            return None
        if not self.steps:
            if self._max > self._search.max or self._max <= 0:
                return None  # no key within max: users below 1, a rate rounding to 0
            return min(self._round(self._search.start), self._max)
        if self.passing is None:
            return None  # the first step failed
        if self.failing is None:
            if self.passing >= self._max:
                return None
            return min(self._round(self.passing * 2), self._max)
        resolution = max(self._search.resolution, 1) if self._integer else self._search.resolution
        if self.failing - self.passing <= resolution:
            return None
        middle = self._round((self.passing + self.failing) / 2, down=True)
        if not self.passing < middle < self.failing:
            return None
        return middle

    def record(self, load: float, passed: bool) -> None:
        self.steps.append((load, passed))
        if passed:
            self.passing = load if self.passing is None else max(self.passing, load)
        else:
            self.failing = load if self.failing is None else min(self.failing, load)

    def _round(self, load: float, down: bool = False) -> float:
        """Users whole (at least 1); rates to ``RATE_DIGITS`` significant digits, rounded down
        where asked, so a key never lands above what it stands for."""
        if self._integer:
            return float(max(1, math.floor(load) if down else math.ceil(load)))
        rounded = float(f"{load:.{RATE_DIGITS}g}")
        if down and rounded > load:  # one unit of the last digit lower
            unit = 10.0 ** (math.floor(math.log10(load)) - RATE_DIGITS + 1)
            rounded = float(f"{rounded - unit:.{RATE_DIGITS}g}")
        return rounded
