"""Console tests: Pilot drives the app; sandboxes are real MariaDB servers, one per test."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from textual.pilot import Pilot

from tests.support.sandbox import Sandbox, start_sandbox

T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.tui)
            fixtures = getattr(item, "fixturenames", ())
            if "sandbox" in fixtures or "haproxy_sandbox" in fixtures:
                item.add_marker(pytest.mark.integration)
            if "haproxy_sandbox" in fixtures:
                item.add_marker(pytest.mark.haproxy)


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A fresh sandbox (primary, replica, delayed by one hour), stopped and purged afterwards."""
    box = start_sandbox(tmp_path_factory.mktemp("sandbox"), delay=3600)
    try:
        yield box
    finally:
        box.down(purge=True)


@pytest.fixture
def haproxy_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The same, behind a real HAProxy whose writers' backend drkit can switch."""
    box = start_sandbox(tmp_path_factory.mktemp("sandbox"), delay=3600, haproxy=True)
    try:
        yield box
    finally:
        box.down(purge=True)


async def until(
    pilot: Pilot[Any], predicate: Callable[[], T | None], what: str, timeout: float = 60
) -> T:
    """Let the app run until predicate() is truthy; its value (AssertionError naming `what` if never)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        value = predicate()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"the console never showed {what} within {timeout}s")
