"""The guard's decisions: which findings freeze, which a rule excuses, and what it reads them from."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from drkit.classify import ClassifyRules, Finding, Severity
from drkit.config import GuardConfig, MaintenanceWindow
from drkit.guard.findings import guard_findings
from drkit.guard.rules import active_window, in_window, judge
from drkit.index.records import Destructive, IndexedTransaction, TableRows

PARIS = ZoneInfo("Europe/Paris")
DROP = Finding("drop_table", Severity.CRITICAL, "DROP TABLE removes shop.orders", ("shop.orders",))
RENAME = Finding("rename_table", Severity.MEDIUM, "RENAME", ("shop.orders",))
MASS = Finding("mass_delete", Severity.HIGH, "5000 rows", ("shop.orders",))
SCRATCH = Finding("drop_table", Severity.CRITICAL, "DROP", ("tmp.a", "tmp.b"))
MIXED = Finding("drop_table", Severity.CRITICAL, "DROP", ("tmp.a", "shop.orders"))
WHOLE_DB = Finding("drop_database", Severity.CRITICAL, "DROP DATABASE", ("tmp.*",))
NOW = dt.datetime(2024, 6, 5, 12, 0, tzinfo=dt.UTC).timestamp()  # a Wednesday


def at(year: int, month: int, day: int, hour: int, minute: int, zone: ZoneInfo = PARIS) -> float:
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone).timestamp()


def window(days: set[int], start: str, end: str, zone: str = "Europe/Paris") -> MaintenanceWindow:
    def minutes(text: str) -> int:
        hours, mins = text.split(":")
        return int(hours) * 60 + int(mins)

    return MaintenanceWindow(frozenset(days), minutes(start), minutes(end), zone)


def excuses(findings: list[Finding], rules: GuardConfig, when: float = NOW) -> list[str | None]:
    return [verdict.excuse for verdict in judge(findings, rules, when)]


def test_default_rules_freeze_at_high_and_above() -> None:
    verdicts = judge([DROP, MASS, RENAME], GuardConfig(), NOW)
    assert [v.freezes for v in verdicts] == [True, True, False]
    assert verdicts[2].excuse == "severity medium is below [guard] min_severity high"
    assert verdicts[0].to_json()["action"] == "freeze"
    assert verdicts[2].to_json()["excused_by"] == verdicts[2].excuse


def test_min_severity_low_freezes_everything() -> None:
    assert excuses([RENAME], GuardConfig(min_severity="low")) == [None]


def test_ignored_class() -> None:
    rules = GuardConfig(ignore_classes=("mass_delete",))
    assert excuses([MASS, DROP], rules) == ["class mass_delete is in [guard] ignore_classes", None]


@pytest.mark.parametrize(
    ("finding", "patterns", "excused"),
    [
        (SCRATCH, ("tmp.*",), True),
        (MIXED, ("tmp.*",), False),  # shop.orders is not ignored: the finding still freezes
        (DROP, ("shop.order",), False),
        (DROP, ("*.orders",), True),
        (WHOLE_DB, ("tmp.*",), True),
        (WHOLE_DB, ("tmp.a*",), False),  # not every table of the database is covered
        (Finding("drop_table", Severity.CRITICAL, "no table named", ()), ("*",), False),
    ],
)
def test_ignored_tables_excuse_only_when_every_table_matches(
    finding: Finding, patterns: tuple[str, ...], excused: bool
) -> None:
    (excuse,) = excuses([finding], GuardConfig(ignore_tables=patterns))
    assert (excuse is not None) == excused
    if excused:
        assert excuse is not None and "matches [guard] ignore_tables" in excuse


def test_maintenance_window_excuses_at_commit_time() -> None:
    weekend = window({5, 6}, "02:00", "04:00")
    rules = GuardConfig(maintenance=(weekend,))
    saturday_3am = at(2024, 6, 8, 3, 0)
    (excuse,) = excuses([DROP], rules, saturday_3am)
    assert excuse == "committed inside the maintenance window sat,sun 02:00-04:00 Europe/Paris"
    assert excuses([DROP], rules, at(2024, 6, 8, 4, 0)) == [None], "the end is exclusive"
    assert excuses([DROP], rules, at(2024, 6, 7, 3, 0)) == [None], "a Friday"


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        (at(2024, 6, 8, 22, 59), False),  # Saturday, before the start
        (at(2024, 6, 8, 23, 0), True),  # Saturday 23:00: the start is inclusive
        (at(2024, 6, 9, 0, 30), True),  # Sunday 00:30: the morning after a listed day
        (at(2024, 6, 9, 1, 0), False),  # the end is exclusive
        (at(2024, 6, 9, 23, 30), False),  # Sunday evening: Sunday is not listed
        (at(2024, 6, 8, 0, 30), False),  # Saturday 00:30: Friday is not listed
    ],
)
def test_window_across_midnight(when: float, inside: bool) -> None:
    assert in_window(window({5}, "23:00", "01:00"), when) is inside


def test_window_reads_the_wall_clock_of_its_zone_across_dst() -> None:
    nightly = window(set(range(7)), "02:00", "04:00")
    # 2024-03-31: Paris jumps from 02:00 to 03:00. 01:30 UTC is 03:30 CEST: inside.
    assert in_window(nightly, dt.datetime(2024, 3, 31, 1, 30, tzinfo=dt.UTC).timestamp())
    # In winter 02:30 UTC is 03:30 in Paris (inside); in summer it is 04:30 (outside).
    assert in_window(nightly, dt.datetime(2024, 1, 10, 2, 30, tzinfo=dt.UTC).timestamp())
    assert not in_window(nightly, dt.datetime(2024, 7, 10, 2, 30, tzinfo=dt.UTC).timestamp())


def test_whole_day_window_and_the_first_matching_one() -> None:
    sunday = window({6}, "00:00", "24:00", "UTC")
    assert in_window(sunday, dt.datetime(2024, 6, 9, 23, 59, tzinfo=dt.UTC).timestamp())
    assert not in_window(sunday, dt.datetime(2024, 6, 10, 0, 0, tzinfo=dt.UTC).timestamp())
    other = window({0}, "00:00", "01:00", "UTC")
    assert active_window((other, sunday), at(2024, 6, 9, 12, 0, ZoneInfo("UTC"))) is sunday
    assert active_window((other,), at(2024, 6, 9, 12, 0, ZoneInfo("UTC"))) is None


# -- findings of an indexed transaction ----------------------------------------------------------


def indexed(
    tables: tuple[TableRows, ...],
    destructive: Destructive | None = None,
    findings: tuple[Destructive, ...] = (),
) -> IndexedTransaction:
    return IndexedTransaction(
        id=7,
        gtid=None,
        file="binlog.000001",
        start_pos=4,
        end_pos=104,
        timestamp=1_700_000_000,
        server_id=1,
        kind="dml",
        tables=tables,
        statement="",
        destructive=destructive,
        findings=findings,
    )


def test_the_guards_own_mass_threshold_applies_to_unflagged_transactions() -> None:
    transaction = indexed(
        (TableRows("shop.orders", deletes=600), TableRows("shop.audit", inserts=1))
    )
    assert guard_findings(transaction, ClassifyRules(mass_rows=1000)) == []
    (finding,) = guard_findings(transaction, ClassifyRules(mass_rows=500))
    assert (finding.category, finding.tables) == ("mass_delete", ("shop.orders",))


def test_every_stored_finding_is_judged_with_the_tables_it_names() -> None:
    """The worst finding is excused (its table is ignored); the next one, stored beside it in the
    index, freezes. Nothing but the index is read: the archive folder does not even exist."""
    delete = Destructive("delete_without_where", "critical", "DELETE tmp.scratch", ("tmp.scratch",))
    update = Destructive("update_without_where", "high", "UPDATE shop.orders", ("shop.orders",))
    transaction = indexed(
        (TableRows("tmp.scratch", deletes=3), TableRows("shop.orders", updates=4)),
        delete,
        (delete, update),
    )
    findings = guard_findings(transaction, ClassifyRules())
    assert [(f.category, f.severity, f.tables) for f in findings] == [
        ("delete_without_where", Severity.CRITICAL, ("tmp.scratch",)),
        ("update_without_where", Severity.HIGH, ("shop.orders",)),
    ]
    verdicts = judge(findings, GuardConfig(ignore_tables=("tmp.*",)), NOW)
    assert [(v.finding.category, v.freezes) for v in verdicts] == [
        ("delete_without_where", False),
        ("update_without_where", True),
    ]


def test_stored_mass_findings_give_way_to_the_guards_own_threshold() -> None:
    """The index flagged 600 deleted rows under its mass_rows of 500; the guard counts again."""
    mass = Destructive("mass_delete", "high", "600 rows deleted from shop.orders", ("shop.orders",))
    rename = Destructive("rename_table", "medium", "RENAME", ("shop.a",))
    tables = (TableRows("shop.orders", deletes=600),)
    transaction = indexed(tables, mass, (rename, mass))
    findings = guard_findings(transaction, ClassifyRules(mass_rows=1000))
    assert [(f.category, f.tables) for f in findings] == [("rename_table", ("shop.a",))]
    (_, again) = guard_findings(transaction, ClassifyRules(mass_rows=100))
    assert (again.category, again.reason) == (
        "mass_delete",
        "600 rows deleted from shop.orders in one transaction (mass_rows is 100)",
    )


def test_a_flagged_record_without_stored_findings_stands_for_every_table() -> None:
    flagged = Destructive("delete_without_where", "critical", "DELETE without WHERE")
    transaction = indexed(
        (TableRows("tmp.a", deletes=3), TableRows("shop.orders", deletes=2000)), flagged
    )
    findings = guard_findings(transaction, ClassifyRules(mass_rows=1000))
    # The mass delete on shop.orders is left out, as the classifier does: a finding at least as
    # severe names that table already.
    assert [(f.category, f.tables) for f in findings] == [
        ("delete_without_where", ("tmp.a", "shop.orders")),
    ]
    # Ignoring tmp.* alone does not excuse it: shop.orders is named too.
    verdicts = judge(findings, GuardConfig(ignore_tables=("tmp.*",)), NOW)
    assert all(v.freezes for v in verdicts)


def test_excusing_a_statement_class_does_not_excuse_the_rows_it_took() -> None:
    """`delete_without_where` in ignore_classes: the 2,000 rows that DELETE took from shop.orders
    still freeze as a mass delete (the classifier drops that mass finding beside the statement's,
    the guard must not once the statement's is excused)."""
    delete = Destructive("delete_without_where", "critical", "DELETE shop.orders", ("shop.orders",))
    transaction = indexed((TableRows("shop.orders", deletes=2000),), delete, (delete,))
    rules = GuardConfig(ignore_classes=("delete_without_where",))
    findings = guard_findings(transaction, ClassifyRules(mass_rows=1000), rules.ignore_classes)
    assert [(f.category, f.tables) for f in findings] == [
        ("delete_without_where", ("shop.orders",)),
        ("mass_delete", ("shop.orders",)),
    ]
    assert [v.freezes for v in judge(findings, rules, NOW)] == [False, True]
    # Without the excuse the statement's finding stands alone, as before.
    assert [f.category for f in guard_findings(transaction, ClassifyRules(mass_rows=1000))] == [
        "delete_without_where"
    ]
