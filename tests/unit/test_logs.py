"""Diagnostics through logging: text for people, syslog priorities for journald."""

from __future__ import annotations

import io
import logging

import pytest

from drkit import logs


@pytest.fixture(autouse=True)
def _restore_drkit_logger() -> object:
    logger = logging.getLogger("drkit")
    handlers, level = list(logger.handlers), logger.level
    yield None
    logger.handlers[:] = handlers
    logger.setLevel(level)


def test_journald_lines_carry_the_syslog_priority() -> None:
    stream = io.StringIO()
    logs.configure(logs.JOURNALD, level=logging.DEBUG, stream=stream)
    logger = logging.getLogger("drkit.io.alerts")
    logger.info("guarding")
    logger.warning("webhook failed\nsecond line")
    logger.error("freeze failed")
    logger.debug("detail")
    assert stream.getvalue().splitlines() == [
        "<6>drkit.io.alerts: guarding",
        "<4>drkit.io.alerts: webhook failed",
        "<4>second line",
        "<3>drkit.io.alerts: freeze failed",
        "<7>drkit.io.alerts: detail",
    ]


def test_text_format_names_the_module_and_hides_info_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DRKIT_DEBUG", raising=False)
    stream = io.StringIO()
    logs.configure(logs.TEXT, stream=stream)
    logging.getLogger("drkit.io.audit").info("not shown")
    logging.getLogger("drkit.io.audit").warning("skipping a line")
    assert stream.getvalue() == "drkit: WARNING: drkit.io.audit: skipping a line\n"


def test_configuring_again_replaces_the_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    logs.configure(logs.TEXT, stream=first)
    logs.configure(logs.JOURNALD, stream=second)
    logging.getLogger("drkit.x").warning("once")
    assert first.getvalue() == "" and second.getvalue() == "<4>drkit.x: once\n"


def test_auto_is_journald_only_when_stderr_is_the_journal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    assert logs.resolve_format(logs.AUTO) == logs.TEXT
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    assert logs.resolve_format(logs.AUTO) == logs.JOURNALD
    assert logs.resolve_format(logs.TEXT) == logs.TEXT
