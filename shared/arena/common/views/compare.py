"""How a compared value reads on every surface (``arenactl compare``, the dashboard's compare
page, the report's hardware compare)."""

from arena.common.schemas.results import MetricStat
from arena.common.views.view import MISSING


def _number(value: float, scale: float) -> str:
    """Two decimals, or four significant digits for numbers under 1 (J/token); ``scale`` (the
    mean) picks the style so that a mean and its std read alike."""
    return f"{value:,.4g}" if abs(scale) < 1 else f"{value:,.2f}"


def compared(value: MetricStat | None) -> str:
    """``mean ± std`` (the std only over more than one value)."""
    if value is None or value.mean is None:
        return MISSING
    text = _number(value.mean, value.mean)
    if value.n > 1 and value.std is not None:
        text += f" ± {_number(value.std, value.mean)}"
    return text
