"""Certificates for Arena's TLS, made with ``cryptography``: the controller's self-signed
certificate, and a small arena CA that issues server and client certificates (mutual TLS).

Keys are ECDSA P-256; private keys are written with mode 0600 and never leave the file."""

import datetime
import ipaddress
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_DAYS = 825
CA_DAYS = 3650
Pem = tuple[bytes, bytes]
"""(private key, certificate), both PEM."""


def write_private(path: Path, data: bytes) -> None:
    """Write a secret so that no other user can ever read it: created 0600, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the certificate, as operators compare it (AB:CD:...)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return str(cert.fingerprint(hashes.SHA256()).hex(":").upper())


def _alt_names(hostnames: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hostnames):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _build(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None,
    signer: ec.EllipticCurvePrivateKey,
    days: int,
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
    )


def _pem(key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> Pem:
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def _usage(*, sign_certs: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=sign_certs,
        crl_sign=sign_certs,
        encipher_only=False,
        decipher_only=False,
    )


def self_signed(common_name: str, hostnames: Sequence[str], days: int = SERVER_DAYS) -> Pem:
    """A server certificate that is its own root: clients trust exactly this certificate
    (pinning) by using it as their CA file."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _build(common_name, key, None, key, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign_certs=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_alt_names(hostnames), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _pem(key, cert)


def new_ca(common_name: str = "arena CA", days: int = CA_DAYS) -> Pem:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _build(common_name, key, None, key, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign_certs=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _pem(key, cert)


def issue(ca: Pem, common_name: str, hostnames: Sequence[str] = (), days: int = SERVER_DAYS) -> Pem:
    """A certificate signed by the CA: for a server when ``hostnames`` are given (they go in
    its subject alternative names), else for a client (an agent or arenactl)."""
    ca_key = serialization.load_pem_private_key(ca[0], password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key is not an arena CA key (ECDSA)")
    ca_cert = x509.load_pem_x509_certificate(ca[1])
    key = ec.generate_private_key(ec.SECP256R1())
    purpose = ExtendedKeyUsageOID.SERVER_AUTH if hostnames else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _build(common_name, key, ca_cert.subject, ca_key, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign_certs=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
    )
    if hostnames:
        builder = builder.add_extension(_alt_names(hostnames), critical=False)
    return _pem(key, builder.sign(ca_key, hashes.SHA256()))
