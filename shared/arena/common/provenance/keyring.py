"""The controller's key registry as a file: every signing key each agent has registered with,
so that a folder's manifest is checked against keys the controller recorded, never against
the key the folder itself carries. ``arenactl keyring export FILE`` writes it;
``arenactl verify DIR --keyring FILE`` reads it offline.
"""

from pathlib import Path

from pydantic import ValidationError

from arena.common.errors import InvalidRequestError
from arena.common.provenance.keys import fingerprint
from arena.common.schemas.base import ArenaModel

FORMAT = "arena-keyring/1"


class KeyringEntry(ArenaModel):
    agent: str
    agent_id: str
    public_key: str
    """Hex of the raw ed25519 public key."""
    tier: str
    first_seen_unix: float
    current: bool
    """Bound to the agent now; a key replaced by ``agents reset-key`` still verifies what it
    signed."""

    @property
    def sha256(self) -> str:
        return fingerprint(bytes.fromhex(self.public_key))


class Keyring(ArenaModel):
    format: str = FORMAT
    controller: str = ""
    """Where it was exported from (the address arenactl used)."""
    keys: list[KeyringEntry] = []

    def signer(self, public_key: bytes) -> KeyringEntry | None:
        """The agent whose key this is, or None when the registry never recorded it."""
        return next((e for e in self.keys if e.public_key == public_key.hex()), None)


def load_keyring(path: Path) -> Keyring:
    try:
        keyring = Keyring.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as error:
        raise InvalidRequestError(f"{path}: not a keyring: {error}") from error
    if keyring.format != FORMAT:
        raise InvalidRequestError(f"{path}: keyring format {keyring.format!r}, expected {FORMAT}")
    return keyring


def signer_name(entry: KeyringEntry) -> str:
    """How a verified result names who signed it."""
    return f"agent {entry.agent}, key {entry.sha256[:16]}"
