"""The check each program runs on import: its extra's packages are installed, or one clear
error names the extra to install (instead of failing on whichever module comes first)."""

from collections.abc import Sequence
from importlib.util import find_spec


def require_extra(package: str, extra: str, modules: Sequence[str]) -> None:
    missing = [name for name in modules if find_spec(name) is None]
    if missing:
        raise ImportError(
            f"{package} needs the {extra} extra (missing: {', '.join(missing)}): "
            f"pip install 'arena[{extra}]'",
            name=missing[0],
        )
