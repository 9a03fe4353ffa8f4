"""`drkit status` as an operator reads it in an incident (issue 18, item 11)."""

from __future__ import annotations

from dataclasses import replace

from drkit.cli.status import render_status
from drkit.model.drift import role_drift
from drkit.model.facts import NodeFacts, Unreachable
from drkit.render import duration, size
from tests.tui.fake import CONFIG, NOW, status
from tui.format import clock, span


def test_a_refused_login_is_not_called_unreachable() -> None:
    report = status()
    refused = NodeFacts.unreachable(
        CONFIG.nodes["replica"], Unreachable.AUTH, "login refused for user 'drkit'", NOW
    )
    shown = render_status(replace(report, nodes=(report.nodes[0], refused, report.nodes[2])))
    replica_row = next(line for line in shown.splitlines() if line.startswith("replica "))
    assert "LOGIN REFUSED" in replica_row and "UNREACHABLE" not in replica_row
    dead_row = next(
        line for line in render_status(report).splitlines() if line.startswith("replica ")
    )
    assert "UNREACHABLE" in dead_row


def test_haproxy_health_is_shown_beside_its_admin_state_and_a_dead_writer_is_a_problem() -> None:
    report = status()
    primary_down = NodeFacts.unreachable(
        CONFIG.nodes["primary"], Unreachable.NETWORK, "cannot connect", NOW
    )
    shown = render_status(replace(report, nodes=(primary_down, *report.nodes[1:])))
    section = shown[shown.index("LOAD BALANCER") :]
    assert "HEALTH" in section
    db1 = next(line for line in section.splitlines() if " db1 " in f" {line} ")
    assert "running, NOT UP" in db1
    assert "problem: db1 takes clients but primary does not answer" in section


def test_index_lag_is_a_time_bound_and_a_size_not_raw_bytes() -> None:
    shown = render_status(status())
    index = next(line for line in shown.splitlines() if line.startswith("INDEX"))
    assert "bytes" not in index
    assert "behind the primary by at most " in index and "(1.3 KiB not indexed yet)" in index


def test_a_promotion_the_config_does_not_know_of_is_noticed() -> None:
    report = status()
    primary, replica, delayed = report.nodes
    fenced = replace(primary, read_only=True)
    promoted = replace(delayed, read_only=False, replica=None)
    drift = role_drift((fenced, replica, promoted))
    assert drift[0].startswith("delayed (configured delayed) is writable with no replication")
    assert drift[1].startswith("primary (configured primary) is read-only: the old primary")
    shown = render_status(replace(report, nodes=(fenced, replica, promoted)))
    assert "ROLES: delayed (configured delayed) is writable" in shown
    assert role_drift(report.nodes) == ()


def test_colour_only_on_request() -> None:
    assert "\x1b[" not in render_status(status())
    assert "\x1b[" in render_status(status(), colour=True)


def test_one_duration_format_for_the_cli_and_the_console() -> None:
    for seconds in (4, 75, 3600, 3725):
        assert span(seconds) == duration(seconds) == clock(seconds)
    assert clock(0) == "now" and span(None) == "-"
    assert size(1304) == "1.3 KiB" and size(12) == "12 B"


def test_the_console_says_refused_not_down_and_keeps_the_reason_short() -> None:
    from tui.format import node_cells

    refused = NodeFacts.unreachable(
        CONFIG.nodes["replica"],
        Unreachable.AUTH,
        "replica (10.0.0.2:3306): login refused for user 'drkit'",
        NOW,
    )
    cells = node_cells(refused, NOW)
    assert str(cells["state"]) == "REFUSED"
    assert cells["last error"] == "login refused for user 'drkit'"
    assert str(node_cells(status().nodes[1], NOW)["state"]) == "DOWN"
