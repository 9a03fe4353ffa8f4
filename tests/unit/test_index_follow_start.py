"""How `index --follow` and the guard's follow loop treat a failure to start following: a refused
login or a config error (an unset password_env) ends it with exit 2 at once; a primary that does
not answer is retried with backoff, and so is a refusal once it has followed."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from drkit.errors import ConfigError, DrkitError, ExitCode
from drkit.index.indexer import Indexer
from drkit.io.archive import ArchiveWriter
from drkit.io.mysql import LoginRefused, NodeUnreachable
from drkit.retry import Backoff
from tests.support.damage import archive_config

REFUSED = LoginRefused("node primary (127.0.0.1:1): login refused for user 'drkit'", hint="x")


def follow_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failures: list[DrkitError | None]
) -> list[str]:
    """Follow while each start attempt fails as `failures` says (None: starts); what it reported.
    It is stopped when it asks for an attempt beyond the list."""
    config = archive_config(tmp_path)
    reported: list[str] = []
    indexer = Indexer(config, report=reported.append)
    stop = threading.Event()
    attempts = iter(failures)

    class Started(ArchiveWriter):
        def running(self) -> bool:
            return False  # the stream ends at once: the loop reconnects

        def exit_reason(self) -> str:
            return "exit 1: lost"

    def start(on_new: object = None) -> ArchiveWriter:
        failure = next(attempts, "stop")
        if failure == "stop":
            stop.set()
            raise NodeUnreachable("stopping the test")
        if failure is not None:
            raise failure
        return Started(config.require_primary(), config.index.archive_dir)

    monkeypatch.setattr(indexer, "_start_following", start)
    monkeypatch.setattr("drkit.index.indexer.BACKOFF", Backoff.constant(0.0))
    with indexer:
        indexer.follow(stop, poll=0.0)
    return reported


@pytest.mark.parametrize(
    "failure",
    [REFUSED, ConfigError("environment variable DRKIT_PW (password_env) is not set")],
    ids=["login refused", "password_env unset"],
)
def test_a_refusal_at_start_ends_the_follow_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: DrkitError
) -> None:
    with pytest.raises(DrkitError) as raised:
        follow_with(tmp_path, monkeypatch, [failure])
    assert raised.value is failure
    assert raised.value.exit_code is ExitCode.USAGE


def test_an_unanswering_primary_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    down = NodeUnreachable("node primary (127.0.0.1:1): unreachable")
    reported = follow_with(tmp_path, monkeypatch, [down, down])
    assert sum("unreachable; retrying" in line for line in reported) == 2


def test_a_refusal_after_following_once_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reported = follow_with(tmp_path, monkeypatch, [None, REFUSED])
    assert any("login refused for user 'drkit'; retrying" in line for line in reported), reported
