"""The subprocess helper: argument lists, a bounded run that kills the whole group, no secrets passed on."""

from __future__ import annotations

import os
import time

import pytest

from drkit.io import command
from drkit.retry import Retry


def test_run_returns_exit_status_and_output() -> None:
    done = command.run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert (done.returncode, done.stdout, done.stderr) == (3, b"out\n", b"err\n")
    assert not done.ok and not done.timed_out


def test_run_feeds_input() -> None:
    done = command.run(["cat"], timeout=10, input=b"payload")
    assert done.ok and done.stdout == b"payload"


def test_a_run_over_its_time_kills_the_child_and_what_it_started(tmp_path) -> None:
    marker = tmp_path / "grandchild.pid"
    started = time.monotonic()
    done = command.run(
        ["sh", "-c", f"sleep 30 & echo $! > {marker}; wait"], timeout=0.5, capture_stdout=False
    )
    assert done.timed_out and done.returncode is None
    assert time.monotonic() - started < 10
    grandchild = int(marker.read_text())

    def gone() -> bool:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            return True
        return False

    assert Retry(0.05, attempts=50).until(gone), "the grandchild outlived the timeout"


def test_a_missing_program_is_an_os_error() -> None:
    with pytest.raises(FileNotFoundError):
        command.run(["/nonexistent/drkit-no-such-tool"], timeout=5)


def test_password_variables_do_not_reach_children(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRKIT_PASSWORD", "hunter2")
    monkeypatch.setenv("MYSQL_PWD", "hunter3")
    monkeypatch.setenv("ADMIN_PASSWD", "hunter4")
    monkeypatch.setenv("DB_CREDENTIAL", "hunter5")
    monkeypatch.setenv("KEEP_ME", "yes")
    env = command.scrubbed_environment(secret_names=["DB_CREDENTIAL"], extra={"ADDED": "1"})
    assert "DRKIT_PASSWORD" not in env and "MYSQL_PWD" not in env
    assert "ADMIN_PASSWD" not in env and "DB_CREDENTIAL" not in env
    assert env["KEEP_ME"] == "yes" and env["ADDED"] == "1" and "PATH" in env
    done = command.run(["env"], timeout=10, env=env)
    assert b"hunter" not in done.stdout and b"KEEP_ME=yes" in done.stdout


def test_a_child_runs_in_its_own_process_group() -> None:
    process = command.spawn(["sleep", "5"])
    try:
        assert os.getpgid(process.pid) == process.pid != os.getpgid(0)
    finally:
        command.kill_group(process)
    assert process.returncode is not None
