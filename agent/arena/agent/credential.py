"""The agent's own credential: obtained once with an enrolment token, kept in the state
directory with mode 0600, used on every start, and rotated when it gets old. The state
directory itself is 0700: engines, which run as another user, cannot even enter it."""

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import structlog

from arena.agent.link import ControllerLink
from arena.agent.settings import AgentSettings
from arena.common.pki import write_private
from arena.common.private import make_private
from arena.common.retry import retry
from arena.common.schemas.agent import HardwareInfo

log = structlog.get_logger(__name__)

ENROL_BUDGET_S = 120.0
"""How long to keep trying an unreachable controller before giving up on an enrolment."""

FILENAME = "credential.json"


@dataclass(frozen=True)
class Credential:
    name: str
    secret: str
    labels: dict[str, str]
    """What the enrolment token lets this agent claim."""
    issued_at: float


def path_in(state_dir: Path) -> Path:
    return state_dir / FILENAME


def load(state_dir: Path) -> Credential | None:
    path = path_in(state_dir)
    if not path.exists():
        return None
    make_private(state_dir)
    return Credential(**json.loads(path.read_text()))


def save(state_dir: Path, credential: Credential) -> Path:
    path = path_in(state_dir)
    write_private(path, json.dumps(asdict(credential), indent=2).encode())
    return path


def renewed(credential: Credential, secret: str) -> Credential:
    return Credential(credential.name, secret, credential.labels, time.time())


async def enrol(
    settings: AgentSettings, enrolment_token: str, hardware: HardwareInfo
) -> Credential:
    """Exchange the enrolment token for this agent's credential and save it; an agent that
    already holds one keeps it (a service restarted with the same ``--enroll`` flag)."""
    held = load(settings.state_dir)
    if held is not None:
        log.info("already enrolled; ignoring --enroll", agent=held.name)
        return held
    link = ControllerLink(settings.controller, "", settings.tls)
    try:
        secret, labels = await retry(
            lambda: link.enroll(enrolment_token, settings.name, hardware),
            "enrol",
            budget_s=ENROL_BUDGET_S,
            controller=settings.controller,
        )
    finally:
        await link.close()
    credential = Credential(settings.name, secret, labels, time.time())
    path = save(settings.state_dir, credential)
    log.info("enrolled", agent=settings.name, labels=labels, credential_file=str(path))
    return credential
