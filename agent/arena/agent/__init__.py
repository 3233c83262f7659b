"""The Arena agent: runs engines and load generators on one machine, reports to the controller.

Its third-party packages are the ``agent`` extra (``pip install 'arena[agent]'``); without them
every import of the agent says so instead of failing on whichever module comes first.
"""

from importlib.util import find_spec

_MISSING = [
    name for name in ("aiohttp", "docker", "httptools", "psutil") if find_spec(name) is None
]
if _MISSING:
    raise ImportError(
        f"arena.agent needs the agent extra (missing: {', '.join(_MISSING)}): "
        "pip install 'arena[agent]'",
        name=_MISSING[0],
    )
