"""TLS settings per node: the `[tls]` default and `[nodes.NAME.tls]` overrides, and what each client needs.

A node with TLS settings is reached only over TLS: drkit's own connections (mysql-connector) verify
the server as `verify` says and refuse a session the server left unencrypted; the server's tools get
the same files and checks through their option file. A node without settings keeps the client's defaults (TLS when the server offers
it, nothing verified), which `drkit status` shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from drkit.errors import ConfigError

KEYS = ("ca", "cert", "key", "verify")


class Verify(StrEnum):
    IDENTITY = (
        "identity"  # the chain up to `ca`, and the host name drkit dials is in the certificate
    )
    CA = "ca"  # the chain up to `ca` only
    NONE = "none"  # encrypted, server not verified


@dataclass(frozen=True)
class TlsSettings:
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    verify: Verify = Verify.NONE

    def describe(self) -> str:
        """`verify=identity ca=/etc/drkit/ca.pem cert=...` (file names only, never their contents)."""
        parts = [f"verify={self.verify.value}"]
        parts += [f"{name}={value}" for name, value in self.files() if value is not None]
        return " ".join(parts)

    def files(self) -> tuple[tuple[str, Path | None], ...]:
        return (("ca", self.ca), ("cert", self.cert), ("key", self.key))

    def connector_args(self) -> dict[str, Any]:
        """mysql-connector's arguments; a session it leaves unencrypted is refused by the caller."""
        args: dict[str, Any] = {"ssl_disabled": False}
        if self.ca is not None:
            args["ssl_ca"] = str(self.ca)
        if self.cert is not None:
            args["ssl_cert"] = str(self.cert)
            args["ssl_key"] = str(self.key)
        args["ssl_verify_cert"] = self.verify is not Verify.NONE
        args["ssl_verify_identity"] = self.verify is Verify.IDENTITY
        return args

    def option_lines(self, *, mariadb: bool) -> list[str]:
        """Lines for a [client] option file, in MariaDB's or MySQL's client option names.

        MariaDB's tools have no chain-only check: `verify = ca` gives them the CA and asks for
        `ssl-verify-server-cert`, which checks the host name as well (stricter, never weaker).
        """
        lines = ["ssl = 1"] if mariadb else []
        for name, value in self.files():
            if value is not None:
                lines.append(f"ssl-{name} = {_quoted(str(value))}")
        if mariadb:
            verify = self.verify is not Verify.NONE
            lines.append(f"ssl-verify-server-cert = {1 if verify else 0}")
        else:
            mode = {
                Verify.IDENTITY: "VERIFY_IDENTITY",
                Verify.CA: "VERIFY_CA",
                Verify.NONE: "REQUIRED",
            }[self.verify]
            lines.append(f"ssl-mode = {mode}")
        return lines


@dataclass(frozen=True)
class TlsState:
    """What a session is: encrypted or not, with which protocol and cipher, and what was checked."""

    encrypted: bool
    version: str | None = None
    cipher: str | None = None
    verified: str = "no"  # "identity", "ca", or "no"
    ca: str | None = None  # the CA file drkit checked the server against

    @classmethod
    def plain(cls) -> TlsState:
        return cls(False)

    @classmethod
    def from_rows(cls, rows: Iterable[Any], settings: TlsSettings | None) -> TlsState:
        found = {_text(row[0]).lower(): _text(row[1]) for row in rows}
        cipher = found.get("ssl_cipher") or None
        version = found.get("ssl_version") or None
        verified = "no"
        if cipher and settings is not None and settings.verify is not Verify.NONE:
            verified = settings.verify.value  # the handshake checked it, or we would not be here
        ca = str(settings.ca) if settings is not None and settings.ca is not None else None
        return cls(bool(cipher), version, cipher, verified, ca if cipher else None)

    def describe(self) -> str:
        if not self.encrypted:
            return "not encrypted"
        checked = "server not verified" if self.verified == "no" else f"verified ({self.verified})"
        return f"{self.version or 'TLS'} {self.cipher}, {checked}"

    def to_json(self) -> dict[str, object]:
        return {
            "encrypted": self.encrypted,
            "version": self.version,
            "cipher": self.cipher,
            "verified": self.verified,
            "ca": self.ca,
        }


def parse_tls(
    data: Any, default: TlsSettings | None, folder: Path, file: Path, where: str
) -> TlsSettings | None:
    """A `[tls]`-shaped table over `default` (keys given here win); ConfigError naming the key."""
    if data is None:
        return default
    if not isinstance(data, Mapping):
        raise ConfigError(f"{file}: {where}: expected a table ([{where}])")
    for key, value in data.items():
        if key not in KEYS:
            raise ConfigError(f"{file}: {where}.{key}: unknown key (expected: {', '.join(KEYS)})")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{file}: {where}.{key}: expected a non-empty string")
    base = default or TlsSettings()

    def path(key: str, inherited: Path | None) -> Path | None:
        if key not in data:
            return inherited
        value = Path(str(data[key])).expanduser()
        return value if value.is_absolute() else folder / value

    ca = path("ca", base.ca)
    cert = path("cert", base.cert)
    key = path("key", base.key)
    if "verify" in data:
        try:
            verify = Verify(str(data["verify"]).strip().lower())
        except ValueError:
            choices = ", ".join(v.value for v in Verify)
            raise ConfigError(
                f"{file}: {where}.verify: unknown value {data['verify']!r} (expected one of: {choices})"
            ) from None
    elif default is not None and "ca" not in data:
        verify = base.verify
    else:
        verify = Verify.IDENTITY if ca is not None else Verify.NONE
    if (cert is None) != (key is None):
        missing = "key" if key is None else "cert"
        raise ConfigError(f"{file}: {where}: cert and key go together ({missing} is missing)")
    if verify is not Verify.NONE and ca is None:
        raise ConfigError(
            f"{file}: {where}.verify: {verify.value} needs `ca`, the CA that signed the servers' certificates"
        )
    return TlsSettings(ca, cert, key, verify)


def missing_files(settings: TlsSettings) -> list[str]:
    """`ca /etc/drkit/ca.pem` for each configured file drkit cannot read."""
    import os

    return [
        f"{name} {value}"
        for name, value in settings.files()
        if value is not None and not os.access(value, os.R_OK)
    ]


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _quoted(value: str) -> str:
    if any(char in value for char in "\n\r\x00"):
        raise ConfigError(f"TLS file name {value!r} holds a control character")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = ["TlsSettings", "TlsState", "Verify", "missing_files", "parse_tls"]
