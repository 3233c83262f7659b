"""How agents and arenactl reach the controller: TLS unless the controller is on loopback.

A client verifies the controller against ``ca_file``: the arena CA, or the controller's own
self-signed certificate (pinning); without one, the system's roots. Plain text beyond loopback
needs ``insecure`` and says so in the log every time.
"""

import ipaddress
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


def open_channel(module: Any, address: str, tls: ClientTls, options: list[tuple[str, Any]]) -> Any:
    """A channel from ``grpc`` or ``grpc.aio`` (same signatures), secure unless told not."""
    credentials = tls.credentials(address)
    if credentials is None:
        return module.insecure_channel(address, options=options)
    return module.secure_channel(address, credentials, options=options + tls.options())
