"""Run one suite file against an endpoint through an embedded controller and agent (what
``arenactl bench`` does with a built-in set), then export the run and save ``show`` as JSON.

Usage: python gpu_bench.py URL SUITE.yaml OUT_DIR LABEL  (``@URL@`` in the suite becomes URL)
"""

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from arena.client.api import ArenaClient
from arena.client.embedded import EmbeddedArena
from arena.client.watching import watch


def main() -> None:
    url, suite_path, out, label = sys.argv[1:5]
    suite_yaml = Path(suite_path).read_text().replace("@URL@", url)
    with (
        tempfile.TemporaryDirectory(prefix="gpu-bench-") as workdir,
        EmbeddedArena(Path(workdir), url) as arena,
        ArenaClient(arena.address, arena.user_token) as client,
    ):
        run_id, _ = client.submit(suite_yaml, "suite.yaml")
        watch(client, Console(width=200), run_id, "table", arena.alive)
        os.environ["ARENACTL_CONTROLLER"] = arena.address
        os.environ["ARENACTL_TOKEN"] = arena.user_token
        from arena.client.cli import cli

        with contextlib.suppress(SystemExit):
            cli.main(["export", run_id, f"{out}/{label}"], standalone_mode=False)
        with (
            open(f"{out}/{label}.show.json", "w") as shown,
            contextlib.redirect_stdout(shown),
            contextlib.suppress(SystemExit),
        ):
            cli.main(["show", run_id, "-o", "json"], standalone_mode=False)


if __name__ == "__main__":
    main()
