"""A private CA with server and client certificates for `drkit sandbox up --tls` (cryptography).

The server certificate names 127.0.0.1 and localhost, so `verify = "identity"` holds for every
sandbox node and for HAProxy's frontend (which passes TLS through). Keys are written 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

VALID_DAYS = 825


@dataclass(frozen=True)
class SandboxCerts:
    """Where the files are; relative names are what drkit.toml and the option files use."""

    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca-key.pem"

    @property
    def server_cert(self) -> Path:
        return self.folder / "server-cert.pem"

    @property
    def server_key(self) -> Path:
        return self.folder / "server-key.pem"

    @property
    def client_cert(self) -> Path:
        return self.folder / "client-cert.pem"

    @property
    def client_key(self) -> Path:
        return self.folder / "client-key.pem"

    def exist(self) -> bool:
        return all(
            p.is_file()
            for p in (self.ca, self.server_cert, self.server_key, self.client_cert, self.client_key)
        )


def make_certs(folder: Path, *, common_name: str = "drkit sandbox") -> SandboxCerts:
    """A new CA, a server certificate for 127.0.0.1/localhost, and a client certificate `drkit`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    certs = SandboxCerts(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    until = now + dt.timedelta(days=VALID_DAYS)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name(f"{common_name} CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(subject: str, usage: x509.ObjectIdentifier, server: bool) -> tuple[object, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    ]
                ),
                critical=False,
            )
        return key, _pem(builder.sign(ca_key, hashes.SHA256()))

    server_key, server_pem = leaf("127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH, True)
    client_key, client_pem = leaf("drkit", ExtendedKeyUsageOID.CLIENT_AUTH, False)
    _write(certs.ca, _pem(ca_cert), 0o644)
    _write(certs.ca_key, _key_pem(ca_key), 0o600)
    _write(certs.server_cert, server_pem, 0o644)
    _write(certs.server_key, _key_pem(server_key), 0o600)
    _write(certs.client_cert, client_pem, 0o644)
    _write(certs.client_key, _key_pem(client_key), 0o600)
    return certs


def make_untrusted_ca(folder: Path) -> Path:
    """Another CA that signed nothing the sandbox uses: a config trusting it must be refused."""
    return make_certs(folder, common_name="untrusted").ca


def _pem(cert: object) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.PEM)  # type: ignore[attr-defined, no-any-return]


def _key_pem(key: object) -> bytes:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    # PKCS#8: both OpenSSL-based servers and Python's ssl module read it.
    return key.private_bytes(  # type: ignore[attr-defined, no-any-return]
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
