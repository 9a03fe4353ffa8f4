"""Least privilege on a real sandbox: drkit's account holds exactly its needs, and a lack is named."""

from __future__ import annotations

import pytest

from tests.support.sandbox import Sandbox
from tests.support.scenario import drkit_json, drop_orders_and_recover


@pytest.fixture(scope="module")
def box(module_box: Sandbox) -> Sandbox:
    return module_box


def test_the_sandbox_account_holds_exactly_what_drkit_needs(box: Sandbox) -> None:
    done, report = drkit_json(box, "check", "grants")
    assert done.returncode == 0, done.stderr
    assert report["ok"] is True
    assert [n["node"] for n in report["nodes"]] == ["primary", "replica", "delayed"]
    grants = " ".join(
        str(v) for row in box.sql("primary", "SHOW GRANTS FOR 'drkit'@'%'") for v in row.values()
    )
    for never in ("ALL PRIVILEGES", "SUPER", "FILE", "SHUTDOWN", "CREATE USER", "GRANT OPTION"):
        assert never not in grants


def test_a_missing_privilege_is_named_with_its_fix_and_refused_before_the_first_step(
    box: Sandbox,
) -> None:
    drop_orders_and_recover(box, "before")  # the delayed replica holds shop.orders, frozen
    box.sql("primary", "REVOKE INSERT ON *.* FROM 'drkit'@'%'")
    try:
        done, report = drkit_json(box, "check", "grants")
        assert done.returncode == 3, done.stderr
        primary = next(n for n in report["nodes"] if n["node"] == "primary")
        assert primary["missing"] == [{"privilege": "INSERT", "needed_by": ["recover", "extract"]}]
        assert primary["statements"] == ["GRANT INSERT ON *.* TO 'drkit'@'%'"]
        text = box.drkit("check", "grants").stdout
        assert "missing  INSERT  (needed by recover, extract)" in text
        audit = box.directory / "drkit-audit.jsonl"
        before = audit.read_text(encoding="utf-8") if audit.exists() else ""
        refused = box.drkit("extract", "--table", "shop.orders", "--into", "shop.copy", "--yes")
        assert refused.returncode == 2, refused.stderr
        assert "node primary: drkit@% lacks INSERT" in refused.stderr
        assert "nothing was changed" in refused.stderr
        after = audit.read_text(encoding="utf-8") if audit.exists() else ""
        assert "extract-started" not in after[len(before) :]
        assert (
            box.value(
                "primary",
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME = 'copy'",
            )
            == 0
        )
    finally:
        box.sql("primary", "GRANT INSERT ON *.* TO 'drkit'@'%'")
        box.drkit("resume", "--force")


def test_recover_and_inspect_name_a_missing_privilege_before_the_first_step(box: Sandbox) -> None:
    """REVOKE on the delayed node (replication is not binlogged across nodes: a local change)."""
    box.sql("delayed", "SET sql_log_bin = 0", "REVOKE BINLOG REPLAY ON *.* FROM 'drkit'@'%'")
    try:
        status = box.replica_status("delayed")
        for args in (
            ("recover", "--before", "latest-destructive", "--yes"),
            ("inspect", "--at", "-1m", "-e", "SELECT 1", "--yes"),
        ):
            refused = box.drkit(*args)
            assert refused.returncode == 2, (args, refused.stderr)
            assert "node delayed: drkit@% lacks BINLOG REPLAY" in refused.stderr
            assert "GRANT BINLOG REPLAY ON *.* TO 'drkit'@'%'" in refused.stderr
        after = box.replica_status("delayed")
        assert (after["Relay_Log_File"], after["Relay_Log_Pos"], after["SQL_Delay"]) == (
            status["Relay_Log_File"],
            status["Relay_Log_Pos"],
            status["SQL_Delay"],
        ), "refused before its first step: nothing changed"
    finally:
        box.sql("delayed", "SET sql_log_bin = 0", "GRANT BINLOG REPLAY ON *.* TO 'drkit'@'%'")
