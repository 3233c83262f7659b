"""arenactl talks to the controller through the API only: importing the CLI loads no
controller code (no reading its database behind its back) and none of the agent's packages
(the ``agent`` extra), so it installs without them."""

import json
import subprocess
import sys

from tests.conftest import REPO


def test_the_cli_imports_nothing_of_the_controller() -> None:
    program = "import json, sys\nimport arena.client.cli\nprint(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=REPO, check=True
    )
    loaded = json.loads(done.stdout)
    assert "arena.client.export" in loaded
    assert [name for name in loaded if name.startswith("arena.controller")] == []
    assert [name for name in loaded if name.startswith("arena.agent")] == []
    agent_extra = {"aiohttp", "docker", "httptools", "psutil", "pynvml", "tokenizers"}
    assert agent_extra.isdisjoint(name.split(".")[0] for name in loaded)
