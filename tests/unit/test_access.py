"""The pieces of docs/security.md that need no server: every method has an access policy,
secrets are stored as hashes, rotation keeps a grace period, certificates chain to the CA,
and TLS is on whenever the controller listens beyond loopback."""

import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from sqlmodel import Session, select

from arena.common import pki
from arena.common.errors import AuthError, InvalidRequestError, PermissionDeniedError
from arena.common.pb.arena.v2 import agent_pb2, user_pb2
from arena.common.schemas.user import Role
from arena.common.transport import ClientTls, host_of, is_loopback
from arena.controller.rpc.auth import POLICY
from arena.controller.settings import ControllerSettings
from arena.controller.store import credentials
from arena.controller.store.credentials import AGENT
from arena.controller.store.database import make_engine
from arena.controller.store.models import CredentialRow


def test_every_method_has_an_access_policy() -> None:
    served = {
        f"/{service.full_name}/{method.name}"
        for module in (agent_pb2, user_pb2)
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }
    assert served == set(POLICY)


@pytest.fixture
def session(tmp_path: Path) -> Session:
    return Session(make_engine(f"sqlite:///{tmp_path / 'a.db'}"))


def test_secrets_are_stored_hashed_and_enrolment_tokens_run_out(session: Session) -> None:
    row, token = credentials.create_enrolment(session, {"site": "lab"}, 100.0, 1, "admin", 0.0)
    assert row.token_hash == credentials.digest(token) != token
    held, secret = credentials.enroll(session, token, "a1", "fp", 1.0)
    assert held.token_hash != secret and secret not in str(held.model_dump())
    assert credentials.authenticate(session, secret, AGENT, 2.0).name == "a1"
    with pytest.raises(AuthError, match="used up"):
        credentials.enroll(session, token, "a2", "fp", 2.0)
    _, late = credentials.create_enrolment(session, {}, 10.0, 1, "admin", 0.0)
    with pytest.raises(AuthError, match="expired"):
        credentials.enroll(session, late, "a2", "fp", 10.0)
    with pytest.raises(InvalidRequestError):
        credentials.create_enrolment(session, {}, 10.0, 0, "admin", 0.0)


def test_rotation_keeps_the_old_secret_for_the_grace_period(session: Session) -> None:
    old = credentials.create_user(session, "ann", Role.SUBMITTER, 0.0)
    new, role, until = credentials.rotate_user(session, "ann", 100.0, 60.0)
    assert role == Role.SUBMITTER and until == 160.0
    assert credentials.authenticate(session, old, "user", 159.0).role == Role.SUBMITTER
    with pytest.raises(AuthError, match="expired"):
        credentials.authenticate(session, old, "user", 160.0)
    assert credentials.authenticate(session, new, "user", 1e9).name == "ann"
    assert credentials.revoke(session, "user", "ann", 200.0) == 1
    with pytest.raises(AuthError, match="revoked"):
        credentials.authenticate(session, new, "user", 201.0)
    with pytest.raises(AuthError, match="unknown agent token"):
        credentials.authenticate(session, new + "x", AGENT, 0.0)
    assert [row.name for row in session.exec(select(CredentialRow))] == ["ann", "ann"]


def test_names_and_duplicates_are_refused(session: Session) -> None:
    with pytest.raises(InvalidRequestError, match="user name"):
        credentials.create_user(session, "bad name", Role.VIEWER, 0.0)
    _, token = credentials.create_enrolment(session, {}, 100.0, 2, "admin", 0.0)
    credentials.enroll(session, token, "a1", "fp", 1.0)
    with pytest.raises(PermissionDeniedError, match="already enrolled"):
        credentials.enroll(session, token, "a1", "fp", 1.0)


def test_issued_certificates_chain_to_the_ca_and_keys_are_private(tmp_path: Path) -> None:
    ca = pki.new_ca()
    _, server = pki.issue(ca, "controller", ["10.0.0.5", "arena.lab"])
    cert = x509.load_pem_x509_certificate(server)
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca[1]))
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(n.value) for n in names] == ["10.0.0.5", "arena.lab"]
    pki.write_private(tmp_path / "k" / "ca.key", ca[0])
    assert stat.S_IMODE((tmp_path / "k" / "ca.key").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("listen", "flags", "tls"),
    [
        ("127.0.0.1:1", {}, False),
        ("0.0.0.0:1", {}, True),
        ("10.1.2.3:1", {}, True),
        ("0.0.0.0:1", {"insecure": True}, False),
        ("127.0.0.1:1", {"tls": True}, True),
        ("[::1]:1", {}, False),
        ("[::]:1", {}, True),
        ("127.evil.example:1", {}, True),
        ("localhost:1", {}, False),
        ("127.0.0.2:1", {}, False),
    ],
)
def test_tls_is_on_beyond_loopback_unless_insecure(
    listen: str, flags: dict[str, Any], tls: bool
) -> None:
    assert ControllerSettings(listen=listen, **flags).uses_tls is tls


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("LocalHost", True),
        ("127.evil.example", False),
        ("127.0.0.1.nip.io", False),
        ("localhost.evil.example", False),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.1", False),
        ("", False),
    ],
)
def test_loopback_is_decided_by_parsing_the_address(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("address", "host"),
    [("127.0.0.1:1", "127.0.0.1"), ("[::1]:50051", "::1"), ("::1", "::1"), ("box", "box")],
)
def test_the_host_of_an_address(address: str, host: str) -> None:
    assert host_of(address) == host


def test_clients_use_plain_text_only_on_loopback_or_when_told(tmp_path: Path) -> None:
    assert is_loopback("127.0.0.1") and not is_loopback("10.0.0.1")
    assert ClientTls().credentials("127.0.0.1:50051") is None
    assert ClientTls(insecure=True).credentials("10.0.0.1:50051") is None
    assert ClientTls().credentials("10.0.0.1:50051") is not None
    assert ClientTls().credentials("127.evil.example:50051") is not None  # a name, not 127/8
    assert ClientTls().credentials("[::1]:50051") is None
    (tmp_path / "c.pem").write_bytes(pki.new_ca()[1])
    with pytest.raises(ValueError, match="needs its key"):
        ClientTls(cert_file=tmp_path / "c.pem").credentials("10.0.0.1:50051")
