"""TLS at the connection: the connector's arguments, the session's state, and failures as sentences."""

from __future__ import annotations

import ssl
from typing import Any

from drkit.config import NodeConfig
from drkit.errors import ConfigError
from drkit.tls import TlsState, missing_files


def tls_arguments(node: NodeConfig) -> dict[str, Any]:
    """mysql-connector's TLS arguments for a TCP node (ConfigError when a file is unreadable)."""
    if node.tls is None:
        return {}
    unreadable = missing_files(node.tls)
    if unreadable:
        raise ConfigError(
            f"node {node.name}: cannot read the TLS {', '.join(unreadable)}",
            hint="fix [tls] or [nodes.NAME.tls] in the config",
        )
    return node.tls.connector_args()


def tls_refusal(node: NodeConfig, exc: BaseException) -> str | None:
    """A sentence saying what did not match, when `exc` is a TLS failure; None otherwise."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return _verification(node, cause)
        if isinstance(cause, ssl.SSLError):
            return f"the TLS handshake failed: {cause.reason or cause}"
        if isinstance(cause, ssl.CertificateError):
            return f"the server's certificate was not accepted: {cause}"
        cause = cause.__cause__ or cause.__context__
    text = str(getattr(exc, "msg", None) or exc)
    lowered = text.lower()
    if "ssl is required" in lowered:
        return "the server does not offer TLS, but the config asks for it and for verification"
    if "certificate" in lowered or "ssl" in lowered.split(":")[0]:
        return f"TLS failed: {text}"
    return None


def tls_hint(node: NodeConfig) -> str:
    if node.tls is None:
        return "the server requires TLS settings drkit does not have: add [tls] to the config"
    return f"this node's TLS settings: {node.tls.describe()}"


def _verification(node: NodeConfig, error: ssl.SSLCertVerificationError) -> str:
    message = str(error.verify_message or error.reason or error)
    tls = node.tls
    ca = f"the CA {tls.ca}" if tls is not None and tls.ca is not None else "the system's CAs"
    if "hostname mismatch" in message.lower() or "ip address mismatch" in message.lower():
        return (
            f"the server's certificate does not name {node.host} "
            f"(verify = identity): {message.rstrip('.')}"
        )
    return f"the server's certificate is not signed by {ca}: {message}"


__all__ = ["TlsState", "tls_arguments", "tls_hint", "tls_refusal"]
