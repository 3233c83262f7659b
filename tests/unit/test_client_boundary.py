"""arenactl talks to the controller through the API only: importing the CLI loads no
controller code (no reading its database behind its back)."""

import json
import subprocess
import sys

from tests.conftest import REPO


def test_the_cli_imports_nothing_of_the_controller() -> None:
    program = (
        "import json, sys\n"
        "import arena.client.cli\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('arena.'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=REPO, check=True
    )
    loaded = json.loads(done.stdout)
    assert "arena.client.export" in loaded
    assert [name for name in loaded if name.startswith("arena.controller")] == []
