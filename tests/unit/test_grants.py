"""`drkit check grants`: SHOW GRANTS read back, compared with each feature's needs."""

from __future__ import annotations

from drkit.checks.grants import compare, lacking, render
from drkit.dialect import grants


def test_all_privileges_is_expanded_and_everything_beyond_need_is_excess() -> None:
    held = grants.global_privileges(
        [
            "GRANT ALL PRIVILEGES ON *.* TO `drkit`@`%` IDENTIFIED BY PASSWORD '*AB' "
            "REQUIRE X509 WITH GRANT OPTION",
            "GRANT SELECT ON `shop`.* TO `drkit`@`%`",
            "GRANT PROXY ON ''@'%' TO 'drkit'@'%'",
        ],
        mariadb=True,
    )
    report = compare("primary", "drkit@%", held, mariadb=True)
    assert not report.missing
    assert {"SUPER", "SHUTDOWN", "FILE", "CREATE USER", "GRANT OPTION"} <= set(report.excess)
    (revoke,) = report.statements
    assert str(revoke).startswith("REVOKE ") and str(revoke).endswith(" ON *.* FROM 'drkit'@'%'")
    assert "PASSWORD" not in render([report]) and "*AB" not in render([report])


def test_missing_privileges_name_the_features_that_need_them() -> None:
    held = grants.global_privileges(
        ["GRANT SELECT, REPLICATION CLIENT, REPLICA MONITOR ON *.* TO `drkit`@`%`"], mariadb=True
    )
    assert {"BINLOG MONITOR", "SLAVE MONITOR"} <= held
    report = compare("delayed", "drkit@%", held, mariadb=True)
    assert report.missing["REPLICATION SLAVE ADMIN"] == ("recover", "promote")
    assert report.missing["REPLICATION SLAVE"] == ("index",)
    grant = str(report.statements[0])
    assert grant.startswith("GRANT ") and "REPLICATION SLAVE ADMIN" in grant
    assert grant.endswith("ON *.* TO 'drkit'@'%'")
    assert "REPLICATION SLAVE ADMIN" in lacking(report, ["promote"])
    assert "REPLICATION SLAVE" not in lacking(report, ["promote"])
    assert report.to_json()["ok"] is False


def test_exactly_the_needs_is_ok_for_both_flavours() -> None:
    for mariadb in (True, False):
        needs = grants.required(mariadb)
        report = compare("n", "drkit@%", needs, mariadb=mariadb)
        assert report.ok and report.statements == ()
        assert "holds exactly what drkit needs" in render([report])


def test_each_feature_is_documented() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "grants.md").read_text(encoding="utf-8")
    for flavour in (grants.MARIADB, grants.MYSQL):
        for feature, privileges in flavour.items():
            assert f"`{feature}`" in text
            for privilege in privileges:
                assert privilege in text, (feature, privilege)
