"""The Arena agent: runs engines and load generators on one machine, reports to the controller.

Its third-party packages are the ``agent`` extra (``pip install 'arena[agent]'``); without them
every import of the agent says so instead of failing on whichever module comes first.
"""

from arena.common.extras import require_extra

require_extra("arena.agent", "agent", ("aiohttp", "docker", "httptools", "psutil"))
