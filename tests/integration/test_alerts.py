"""Alert delivery for real: commands get the JSON on stdin, a loopback HTTP server gets the POST,
failures are retried, then logged, and a webhook's token never reaches the log."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from drkit.config import AlertsConfig, Webhook
from drkit.errors import ConfigError
from drkit.io.alerts import Alerter, check_commands
from drkit.io.audit import AuditLog, read_audit
from tests.support.guard import hook_server
from tests.support.sandbox import pids_alive, wait_for

ALERT = {"alert": "frozen", "severity": "critical", "transaction": {"id": 7, "gtid": "0-1-7"}}


def python(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


def test_commands_and_webhooks_get_the_same_json(tmp_path: Path) -> None:
    out = tmp_path / "stdin.json"
    audit = AuditLog(tmp_path / "audit.jsonl")
    with hook_server() as hook:
        config = AlertsConfig(
            commands=(
                python(f"import sys; open({str(out)!r}, 'wb').write(sys.stdin.buffer.read())"),
            ),
            webhooks=(Webhook(hook.url("/services/T0/SECRET")),),
            timeout=5,
            retries=0,
        )
        deliveries = Alerter(config, audit).deliver(ALERT)
        assert all(d.ok and d.attempts == 1 for d in deliveries), deliveries
        (received,) = hook.received
    assert received["json"] == ALERT
    assert received["path"] == "/services/T0/SECRET"
    assert received["headers"]["Content-Type"] == "application/json"
    assert json.loads(out.read_text()) == ALERT
    records = read_audit(tmp_path / "audit.jsonl")
    assert {r["target"] for r in records} == {
        f"command {sys.executable}",
        f"webhook http://127.0.0.1:{hook.port}/…",
    }
    assert all(r["kind"] == "guard-alert" and r["ok"] and r["transaction"] == 7 for r in records)
    assert "SECRET" not in (tmp_path / "audit.jsonl").read_text()


def test_a_webhook_is_retried_until_it_answers(tmp_path: Path) -> None:
    with hook_server(fail_first=2) as hook:
        config = AlertsConfig(webhooks=(Webhook(hook.url()),), timeout=5, retries=2)
        (delivery,) = Alerter(config, AuditLog(tmp_path / "audit.jsonl")).deliver(ALERT)
        assert hook.calls == 3
        assert len(hook.received) == 1
    assert delivery.ok and delivery.attempts == 3


def test_failures_are_logged_with_their_reason_and_no_token(tmp_path: Path) -> None:
    with hook_server(fail_first=99) as hook:
        unanswered = hook.url("/hook/TOKEN123")
        hook.close()  # nothing listens there any more: connection refused
    config = AlertsConfig(
        commands=(python("import sys; sys.stderr.write('pager down\\n'); sys.exit(3)"),),
        webhooks=(Webhook(unanswered),),
        timeout=2,
        retries=1,
    )
    messages: list[str] = []
    deliveries = Alerter(config, AuditLog(tmp_path / "audit.jsonl"), messages.append).deliver(ALERT)
    by_target = {d.target.split()[0]: d for d in deliveries}
    assert not by_target["command"].ok and by_target["command"].attempts == 2
    assert by_target["command"].detail == "exit 3: pager down"
    assert not by_target["webhook"].ok and by_target["webhook"].attempts == 2
    assert "refused" in by_target["webhook"].detail.lower()
    log = (tmp_path / "audit.jsonl").read_text()
    assert "TOKEN123" not in log and not any("TOKEN123" in m for m in messages)
    assert len(messages) == 2 and all("failed after 2 attempts" in m for m in messages)


def test_a_command_that_hangs_is_killed_with_what_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    # The command starts a grandchild and both sleep: the timeout must take both down.
    code = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    config = AlertsConfig(commands=(python(code),), timeout=1.5, retries=0)
    (delivery,) = Alerter(config, AuditLog(tmp_path / "audit.jsonl")).deliver(ALERT)
    assert not delivery.ok and delivery.detail == "timed out after 1.5s"
    grandchild = int(pid_file.read_text())
    wait_for(lambda: pids_alive([grandchild]) == [], timeout=10, what="the grandchild to die")


def test_a_missing_program_is_a_config_error_at_start(tmp_path: Path) -> None:
    check_commands(AlertsConfig(commands=(("true",), (sys.executable, "-V"))))
    for argv in (("/nonexistent/pager",), ("no-such-program-drkit",), (str(tmp_path),)):
        with pytest.raises(ConfigError, match="is not an executable program"):
            check_commands(AlertsConfig(commands=(argv,)))
