"""`drkit status` says first, and loudest, when the delay ran out (issue 18, item 4)."""

from __future__ import annotations

from drkit.checks.alarm import Alarm, AlarmState
from drkit.cli.status import render_status
from tests.tui.fake import DELAY, DROP, status


def test_delay_ran_out_is_the_first_and_loudest_thing_status_prints() -> None:
    alarm = Alarm("delayed", DROP, DROP.timestamp + DELAY, True, AlarmState.MISSED)
    text = render_status(status(), alarm)
    lines = text.splitlines()
    assert lines[0] == "!" * 78
    assert lines[1].startswith("DELAY RAN OUT: delayed applied #200 0-1-200 (critical drop_table)")
    assert "flashback" in lines[1]


def test_a_frozen_replica_is_one_plain_line_with_the_next_command() -> None:
    alarm = Alarm("delayed", DROP, DROP.timestamp + DELAY, False)
    first = render_status(status(), alarm).splitlines()[0]
    assert first.startswith("FROZEN: delayed holds back #200")
    assert "drkit recover --before 200" in first


def test_no_alarm_no_banner() -> None:
    assert render_status(status()).splitlines()[0].startswith("NODE")
    assert Alarm("delayed", DROP, 0.0, True).to_json()["state"] == "running"
