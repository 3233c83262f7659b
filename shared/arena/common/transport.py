"""How agents and arenactl reach the controller: TLS unless the controller is on loopback.

A client verifies the controller against ``ca_file``: the arena CA, or the controller's own
self-signed certificate (pinning); without one, the system's roots. Plain text beyond loopback
needs ``insecure`` and says so in the log every time.
"""

import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import structlog

log = structlog.get_logger(__name__)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: an address in 127.0.0.0/8 or ``::1`` (also bracketed,
    or IPv4-mapped), or the name ``localhost``. Any other name may resolve anywhere, even one
    that begins with ``127.``; ``0.0.0.0`` and ``::`` are every interface, not loopback."""
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def host_of(address: str) -> str:
    """The host of ``HOST:PORT``, ``[V6]:PORT`` or a bare host (a bare IPv6 address too)."""
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    if address.count(":") != 1:
        return address
    return address.split(":", 1)[0]


@dataclass(frozen=True)
class ClientTls:
    ca_file: Path | None = None
    """The arena CA, or the controller's own certificate (pinned)."""
    cert_file: Path | None = None
    key_file: Path | None = None
    """This client's certificate and key, for a controller that asks for mutual TLS."""
    server_name: str | None = None
    """The name to expect in the controller's certificate when it differs from the address."""
    insecure: bool = False
    """Plain text beyond loopback."""

    def credentials(self, address: str) -> grpc.ChannelCredentials | None:
        """None for plain text: on loopback without TLS files, or when told ``insecure``."""
        wanted = self.ca_file is not None or self.cert_file is not None
        loopback = is_loopback(host_of(address))
        if not wanted and (loopback or self.insecure):
            if not loopback:
                log.warning(
                    "INSECURE: talking to the controller in plain text; tokens and results "
                    "can be read and changed on the way",
                    controller=address,
                )
            return None
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("a client certificate needs its key, and a key its certificate")
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_file.read_bytes() if self.ca_file else None,
            private_key=self.key_file.read_bytes() if self.key_file else None,
            certificate_chain=self.cert_file.read_bytes() if self.cert_file else None,
        )

    def options(self) -> list[tuple[str, Any]]:
        return [("grpc.ssl_target_name_override", self.server_name)] if self.server_name else []


def refused_certificate(address: str, tls: ClientTls, timeout_s: float = 5.0) -> str | None:
    """Why the controller at ``address`` will not take this client's certificate, or None (it
    takes it, or there is no TLS controller there to ask). gRPC reports that refusal as "Socket
    closed", like any dropped connection, so a handshake of our own asks again. Blocking: one
    connection, at most ``timeout_s``."""
    if tls.credentials(address) is None:
        return None
    verdict = _handshake_verdict(address, tls, timeout_s)
    if verdict is None:
        return None
    if tls.cert_file is None:
        return (
            "the controller requires a client certificate (mutual TLS): pass --cert-file and "
            f"--key-file ({verdict})"
        )
    return (
        f"the controller refused this client certificate, {tls.cert_file} ({verdict}): it "
        "must be issued by the CA the controller trusts (its --tls-client-ca) and be valid now"
    )


def _handshake_verdict(address: str, tls: ClientTls, timeout_s: float) -> str | None:
    """How the controller ended a TLS handshake with this client's certificate; None when it
    went on to speak HTTP/2 (it took the certificate) or could not be reached at all."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # only its verdict counts
    context.set_alpn_protocols(["h2"])
    if tls.cert_file is not None and tls.key_file is not None:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    host, port = host_of(address), address.rsplit(":", 1)[-1]
    try:
        with (
            socket.create_connection((host, int(port)), timeout=timeout_s) as connection,
            context.wrap_socket(connection, server_hostname=tls.server_name or host) as secured,
        ):
            # TLS 1.3 checks a client certificate after the client's Finished: a gRPC server
            # that took it sends its HTTP/2 settings, one that refused it hangs up
            if secured.recv(1):
                return None
            return "it closed the connection right after the TLS handshake"
    except ssl.SSLError as error:  # TLS 1.2, or a server that sends an alert
        alert = str(error.reason or "")
        return f"TLS alert: {alert.lower().replace('_', ' ')}" if "ALERT" in alert else None
    except (OSError, ValueError):
        return None


def open_channel(module: Any, address: str, tls: ClientTls, options: list[tuple[str, Any]]) -> Any:
    """A channel from ``grpc`` or ``grpc.aio`` (same signatures), secure unless told not."""
    credentials = tls.credentials(address)
    if credentials is None:
        return module.insecure_channel(address, options=options)
    return module.secure_channel(address, credentials, options=options + tls.options())
