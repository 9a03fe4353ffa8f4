"""[tls] and [nodes.NAME.tls]: defaults, overrides, and what each client is given."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from drkit import config
from drkit.errors import ConfigError, ExitCode
from drkit.io.mysql import TlsRefused, _connect_error
from drkit.tls import TlsSettings, TlsState, Verify

NODES = """
[nodes.primary]
role = "primary"
host = "db1.example"
port = 3306
user = "drkit"
password_env = "X"

[nodes.delayed]
role = "delayed"
host = "db3.example"
port = 3306
user = "drkit"
password_env = "X"
delay = 3600
"""


def load(tmp_path: Path, text: str) -> config.Config:
    file = tmp_path / "drkit.toml"
    file.write_text(text)
    return config.load(file)


def test_no_tls_section_leaves_nodes_without_settings(tmp_path: Path) -> None:
    loaded = load(tmp_path, NODES)
    assert all(n.tls is None for n in loaded.nodes.values())


def test_default_section_applies_to_every_node_and_identity_is_the_default(
    tmp_path: Path,
) -> None:
    loaded = load(
        tmp_path,
        '[tls]\nca = "certs/ca.pem"\ncert = "/etc/c.pem"\nkey = "/etc/k.pem"\n' + NODES,
    )
    for node in loaded.nodes.values():
        assert node.tls == TlsSettings(
            tmp_path / "certs/ca.pem", Path("/etc/c.pem"), Path("/etc/k.pem"), Verify.IDENTITY
        )


def test_a_node_overrides_single_keys(tmp_path: Path) -> None:
    text = (
        '[tls]\nca = "/ca.pem"\n'
        + NODES
        + '\n[nodes.delayed.tls]\nverify = "ca"\ncert = "/d.pem"\nkey = "/d.key"\n'
    )
    loaded = load(tmp_path, text)
    assert loaded.node("primary").tls == TlsSettings(Path("/ca.pem"), None, None, Verify.IDENTITY)
    assert loaded.node("delayed").tls == TlsSettings(
        Path("/ca.pem"), Path("/d.pem"), Path("/d.key"), Verify.CA
    )


def test_a_node_may_have_tls_alone(tmp_path: Path) -> None:
    loaded = load(tmp_path, NODES + '\n[nodes.primary.tls]\nverify = "none"\n')
    assert loaded.node("primary").tls == TlsSettings(verify=Verify.NONE)
    assert loaded.node("delayed").tls is None


@pytest.mark.parametrize(
    ("tls", "problem"),
    [
        ('verify = "maybe"', "tls.verify: unknown value 'maybe'"),
        ('verify = "ca"', "tls.verify: ca needs `ca`"),
        ('ca = "/ca"\ncert = "/c"', "cert and key go together (key is missing)"),
        ('cafile = "/ca"', "tls.cafile: unknown key"),
        ("ca = 5", "tls.ca: expected a non-empty string"),
    ],
)
def test_bad_tls_settings_are_named(tmp_path: Path, tls: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"[tls]\n{tls}\n" + NODES)
    assert problem in caught.value.message
    assert caught.value.exit_code == ExitCode.USAGE


def test_connector_arguments_follow_verify() -> None:
    identity = TlsSettings(Path("/ca"), Path("/c"), Path("/k"), Verify.IDENTITY).connector_args()
    assert identity["ssl_verify_cert"] and identity["ssl_verify_identity"]
    assert (
        identity["ssl_ca"] == "/ca" and identity["ssl_cert"] == "/c" and identity["ssl_key"] == "/k"
    )
    ca = TlsSettings(Path("/ca"), verify=Verify.CA).connector_args()
    assert ca["ssl_verify_cert"] and not ca["ssl_verify_identity"]
    none = TlsSettings(verify=Verify.NONE).connector_args()
    assert not none["ssl_verify_cert"] and none["ssl_disabled"] is False


def test_tools_get_their_own_flags() -> None:
    tls = TlsSettings(Path("/ca"), Path("/c"), Path("/k"), Verify.IDENTITY)
    maria = tls.option_lines(mariadb=True)
    assert 'ssl-ca = "/ca"' in maria and "ssl-verify-server-cert = 1" in maria
    mysql = tls.option_lines(mariadb=False)
    assert "ssl-mode = VERIFY_IDENTITY" in mysql and "ssl = 1" not in mysql
    assert "ssl-mode = REQUIRED" in TlsSettings().option_lines(mariadb=False)
    assert "ssl-verify-server-cert = 0" in TlsSettings().option_lines(mariadb=True)


def test_a_failed_verification_is_exit_2_naming_node_and_mismatch(tmp_path: Path) -> None:
    loaded = load(tmp_path, '[tls]\nca = "/etc/drkit/ca.pem"\n' + NODES)
    node = loaded.node("primary")

    def wrapped(cause: BaseException) -> Exception:
        try:
            try:
                raise cause
            except BaseException as inner:
                raise OSError("lost connection") from inner
        except OSError as outer:
            return outer

    unsigned = ssl.SSLCertVerificationError(1, "certificate verify failed")
    unsigned.verify_message = "self-signed certificate"
    error = _connect_error(node, wrapped(unsigned))
    assert isinstance(error, TlsRefused) and error.exit_code == ExitCode.USAGE
    assert (
        "node primary" in error.message
        and "not signed by the CA /etc/drkit/ca.pem" in error.message
    )
    mismatch = ssl.SSLCertVerificationError(1, "certificate verify failed")
    mismatch.verify_message = "Hostname mismatch, certificate is not valid for 'db1.example'."
    error = _connect_error(node, wrapped(mismatch))
    assert "does not name db1.example" in error.message


def test_session_state_reads_the_status_rows(tmp_path: Path) -> None:
    loaded = load(tmp_path, '[tls]\nca = "/ca"\n' + NODES)
    state = TlsState.from_rows(
        [("Ssl_cipher", "TLS_AES_256_GCM_SHA384"), ("Ssl_version", "TLSv1.3")],
        loaded.node("primary").tls,
    )
    assert state == TlsState(True, "TLSv1.3", "TLS_AES_256_GCM_SHA384", "identity", "/ca")
    assert "verified (identity)" in state.describe()
    plain = TlsState.from_rows(
        [("Ssl_cipher", ""), ("Ssl_version", "")], loaded.node("primary").tls
    )
    assert not plain.encrypted and plain.describe() == "not encrypted"
