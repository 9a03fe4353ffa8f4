"""Alert retries on a clock that only pretends: a real alert command that fails, then answers,
is tried again after the backoff's pauses, and one that never answers gets every attempt."""

from __future__ import annotations

import json
from pathlib import Path

from drkit.config import AlertsConfig
from drkit.io.alerts import ALERT_BACKOFF, Alerter
from drkit.io.audit import AuditLog
from tests.support.clock import FakeClock


def flaky_command(folder: Path, succeed_on: int) -> Path:
    """A program that fails until its `succeed_on`-th run, keeping each run's stdin."""
    script = folder / "page"
    script.write_text(
        "#!/bin/sh\n"
        f'n=$(cat "{folder}/count" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "{folder}/count"\n'
        f'cat > "{folder}/body.$n"\n'
        f'[ "$n" -ge {succeed_on} ] || {{ echo "busy (run $n)" >&2; exit 1; }}\n',
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def alerter(tmp_path: Path, command: Path, retries: int, clock: FakeClock) -> Alerter:
    config = AlertsConfig(commands=((str(command),),), timeout=10.0, retries=retries)
    return Alerter(config, AuditLog(tmp_path / "audit.jsonl"), clock=clock)


def test_a_failing_command_is_tried_again_after_the_backoff_until_it_answers(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    with alerter(tmp_path, flaky_command(tmp_path, succeed_on=3), retries=4, clock=clock) as sender:
        [delivery] = sender.deliver({"alert": "destructive", "transaction": {"id": 7}})
    assert (delivery.ok, delivery.attempts) == (True, 3)
    assert clock.pauses == [0.5, 1.0]  # ALERT_BACKOFF's first two steps, then it answered
    bodies = [json.loads((tmp_path / f"body.{n}").read_text()) for n in (1, 2, 3)]
    assert all(body == {"alert": "destructive", "transaction": {"id": 7}} for body in bodies)


def test_a_command_that_never_answers_gets_every_attempt_and_says_why(tmp_path: Path) -> None:
    clock = FakeClock()
    with alerter(
        tmp_path, flaky_command(tmp_path, succeed_on=99), retries=5, clock=clock
    ) as sender:
        [delivery] = sender.deliver({"alert": "destructive"})
    assert (delivery.ok, delivery.attempts) == (False, 6)
    assert delivery.detail == "exit 1: busy (run 6)"
    assert clock.pauses == [0.5, 1.0, 2.0, 5.0, 5.0]  # the last step repeats
    assert (tmp_path / "count").read_text().strip() == "6"
    # The worst case the guard waits for: every attempt timing out, plus every pause.
    assert sender.worst_case() == 6 * 10.0 + ALERT_BACKOFF.total(5) + 1.0
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["ok"], r["attempts"]) for r in records] == [("guard-alert", False, 6)]
