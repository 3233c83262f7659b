"""The controller's side of TLS: its certificate (the operator's, or one it generates for
itself into ``data_dir/tls``) and, for mutual TLS, the CA its clients' certificates must come
from."""

import socket
from pathlib import Path

import grpc
import structlog

from arena.common.pki import fingerprint, self_signed, write_private
from arena.common.private import make_private
from arena.common.transport import is_loopback
from arena.controller.settings import ControllerSettings

log = structlog.get_logger(__name__)

WILDCARDS = ("", "0.0.0.0", "::", "*")


def server_credentials(settings: ControllerSettings) -> grpc.ServerCredentials | None:
    """None for plain text: on loopback by default, beyond it only with ``insecure``."""
    if not settings.uses_tls:
        if not is_loopback(settings.host):
            log.warning(
                "INSECURE: serving plain text beyond loopback (--insecure); anyone on the "
                "network can read and change tokens, jobs and results",
                address=settings.listen,
            )
        return None
    key, cert = _key_and_certificate(settings)
    client_ca = settings.tls_client_ca.read_bytes() if settings.tls_client_ca else None
    log.info(
        "serving TLS",
        certificate_sha256=fingerprint(cert),
        mutual=client_ca is not None,
    )
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def generated_paths(data_dir: Path) -> tuple[Path, Path]:
    """Where the self-signed pair lives; clients pin the certificate by using it as CA file."""
    return data_dir / "tls" / "controller.key", data_dir / "tls" / "controller.pem"


def _key_and_certificate(settings: ControllerSettings) -> tuple[bytes, bytes]:
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise ValueError("tls_cert and tls_key go together")
    if settings.tls_cert is not None and settings.tls_key is not None:
        return settings.tls_key.read_bytes(), settings.tls_cert.read_bytes()
    key_path, cert_path = generated_paths(settings.data_dir)
    if not (key_path.exists() and cert_path.exists()):
        names = ["localhost", "127.0.0.1", "::1", socket.gethostname(), *settings.tls_hostnames]
        if settings.host not in WILDCARDS:
            names.append(settings.host)
        key, cert = self_signed("arena controller", names)
        make_private(settings.data_dir)
        make_private(key_path.parent)
        write_private(key_path, key)
        cert_path.write_bytes(cert)
        log.info("generated a self-signed certificate", path=str(cert_path), names=names)
    return key_path.read_bytes(), cert_path.read_bytes()
