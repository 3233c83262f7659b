"""What a process engine gets from the box: its own unprivileged user, a fresh working folder,
and an environment written from scratch. Nothing of the agent's (its variables, its state
folder with the credential and signing key) is within the engine's reach.

The agent as root switches to the policy's ``process.user`` for the child. An agent that is not
root cannot switch: it runs process engines only when the policy names the agent's own user,
the owner's explicit choice for a box no one else submits to (docs/engines.md).
"""

import os
import pwd
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from arena.common.errors import PolicyError
from arena.common.policy import REFUSED

SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSED_THROUGH = ("LANG", "CUDA_VISIBLE_DEVICES")
"""The agent's variables every engine may see: the locale and the GPUs the box gives Arena."""
WORKDIR_PREFIX = "arena-engine-"


@dataclass(frozen=True)
class EngineUser:
    name: str
    uid: int
    gid: int

    @property
    def switches(self) -> bool:
        """Whether the child runs as another user than the agent."""
        return self.uid != os.geteuid()


def current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def agent_user() -> EngineUser:
    """The agent's own account, for Arena's own engine (no switch)."""
    return EngineUser(current_user(), os.geteuid(), os.getegid())


def engine_user(name: str) -> EngineUser:
    """The account process engines run as; PolicyError when the box cannot run them safely."""
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        raise PolicyError(f"{REFUSED}: process.user {name} does not exist on this box") from None
    user = EngineUser(name, account.pw_uid, account.pw_gid)
    if user.uid == 0:
        raise PolicyError(f"{REFUSED}: process.user {name} is root; engines run unprivileged")
    if user.switches and os.geteuid() != 0:
        raise PolicyError(
            f"{REFUSED}: the agent runs as {current_user()}, not root, so it cannot run engines "
            f"as {name}; run the agent as root, or set process.user: {current_user()} to let "
            "engines run as the agent's own user"
        )
    return user


def engine_environment(
    home: Path, engine_env: Mapping[str, str], agent_env: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """A fixed PATH, HOME in the engine's own folder, the locale and GPU selection, then what
    the job declares (its ``env`` and the secrets the policy exposes): nothing else."""
    env = {"PATH": SAFE_PATH, "HOME": str(home)}
    env |= {name: agent_env[name] for name in PASSED_THROUGH if name in agent_env}
    return env | dict(engine_env)


def make_workdir(user: EngineUser) -> Path:
    """A fresh folder only the engine's user may enter: its working directory and HOME."""
    folder = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
    if user.switches:
        os.chown(folder, user.uid, user.gid)
    return folder


def remove_workdir(folder: Path) -> None:
    """rmtree walks by file descriptors, so links the engine left cannot lead it elsewhere."""
    shutil.rmtree(folder, ignore_errors=True)
