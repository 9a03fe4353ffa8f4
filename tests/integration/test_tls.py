"""A `--tls` sandbox: the whole incident path over verified TLS, and an untrusted CA refused.

Every server requires TLS (require_secure_transport), drkit's account is REQUIRE X509, and the
replicas reach the primary over TLS checking its certificate.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from drkit.sandbox.certs import make_untrusted_ca
from tests.support.sandbox import Sandbox, start_sandbox
from tests.support.scenario import create_shop, drkit_json, fingerprint, run_drkit

pytestmark = pytest.mark.haproxy


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("tls"), delay=3600, haproxy=True, tls=True)
    try:
        yield sandbox
    finally:
        sandbox.down(purge=True)


def test_the_sandbox_requires_tls_and_certificates(box: Sandbox) -> None:
    text = box.config_file.read_text(encoding="utf-8")
    assert "[tls]" in text and 'verify = "identity"' in text
    assert box.value("primary", "SELECT @@require_secure_transport") == 1
    grants = " ".join(str(v) for row in box.sql("primary", "SHOW GRANTS") for v in row.values())
    assert "REQUIRE X509" in grants
    for name in ("replica", "delayed"):
        status = box.replica_status(name)
        assert status["Master_SSL_Allowed"] == "Yes"
        assert status["Master_SSL_Verify_Server_Cert"] == "Yes"
        assert status["Slave_IO_Running"] == "Yes"
    done, report = drkit_json(box, "status")
    assert done.returncode == 0, done.stderr
    for node in report["nodes"]:
        assert node["tls"]["encrypted"] is True, node
        assert node["tls"]["verified"] == "identity"
        assert node["tls"]["version"].startswith("TLS")
    assert "verified (identity)" in box.drkit("status").stdout


def test_the_incident_path_runs_over_tls(box: Sandbox) -> None:
    create_shop(box)
    orders = fingerprint(box, "primary", "shop.orders")
    assert orders is not None
    done, _ = drkit_json(box, "guard", "--once")
    assert done.returncode == 0, done.stderr
    box.sql("primary", "DROP TABLE shop.orders", app=True)
    box.sql("primary", "INSERT INTO shop.audit (what) VALUES ('after the drop')", app=True)
    indexed = box.drkit("index")
    assert indexed.returncode == 0, indexed.stderr
    assert len(list((box.directory / "binlogs").glob("mysql-bin.*"))) >= 1, "archived over TLS"
    done, guarded = drkit_json(box, "guard", "--once")
    assert done.returncode == 0, done.stderr
    assert [f["action"] for f in guarded["findings"]] == ["frozen"]
    frozen = box.drkit("freeze")
    assert frozen.returncode == 0, frozen.stderr
    assert box.replica_status("delayed")["Slave_SQL_Running"] == "No"
    done, report = drkit_json(box, "recover", "--before", "latest-destructive", "--yes")
    assert done.returncode == 0, done.stderr
    assert report["verified"] is True
    assert fingerprint(box, "delayed", "shop.orders") == orders
    done, extracted = drkit_json(box, "extract", "--table", "shop.orders", "--yes")
    assert done.returncode == 0, done.stderr
    assert extracted["verified"] is True
    assert fingerprint(box, "primary", "shop.orders") == orders

    box.sql("primary", "SET GLOBAL read_only = OFF")
    delayed_id = box.value("delayed", "SELECT @@server_id")
    done, promoted = drkit_json(box, "promote", "--yes")
    assert done.returncode == 0, done.stderr
    assert promoted["new_primary"] == "delayed" and promoted["loadbalancer_writers"] == ["db3"]
    fates = {fate["node"]: fate for fate in promoted["fates"]}
    follow = " ".join(fates["replica"]["commands"])
    assert "MASTER_SSL = 1" in follow and "MASTER_SSL_VERIFY_SERVER_CERT = 1" in follow
    assert str(box.directory / "tls" / "ca.pem") in follow
    lb = box.config().loadbalancer
    assert lb is not None and lb.frontend is not None
    with closing(box.connect("primary", port=int(lb.frontend.rpartition(":")[2]))) as client:
        cur = client.cursor()
        cur.execute("SELECT @@server_id")
        assert cur.fetchone()[0] == delayed_id  # type: ignore[index]
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        assert cur.fetchone()[1], "through HAProxy, still TLS"  # type: ignore[index]
        cur.close()


def test_an_untrusted_certificate_is_refused(box: Sandbox, tmp_path: Path) -> None:
    untrusted = make_untrusted_ca(tmp_path / "other-ca")
    text = box.config_file.read_text(encoding="utf-8")
    config = box.directory / "untrusted.toml"
    config.write_text(text.replace('ca = "tls/ca.pem"', f'ca = "{untrusted}"'), encoding="utf-8")
    try:
        audit = box.directory / "drkit-audit.jsonl"
        before = audit.read_bytes() if audit.exists() else b""
        for command in (("freeze",), ("index",), ("status",), ("check", "grants")):
            done = run_drkit(config, *command)
            assert done.returncode == 2, (command, done.stderr)
            assert "node " in done.stderr
            assert f"is not signed by the CA {untrusted}" in done.stderr, done.stderr
        assert (audit.read_bytes() if audit.exists() else b"") == before, "no statement ran"
    finally:
        config.unlink(missing_ok=True)
