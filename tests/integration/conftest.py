"""Integration tests run against real MariaDB servers started by drkit's own sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sandbox import Sandbox, start_sandbox


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    """A fresh sandbox for one test, delay one hour (nothing reaches `delayed` by itself)."""
    sandbox = start_sandbox(tmp_path / "sb", delay=3600)
    try:
        yield sandbox
    finally:
        sandbox.down(purge=True)


@pytest.fixture(scope="module")
def module_box(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sandbox]:
    """One sandbox shared by the tests of a module, delay one hour; a module's `box` builds on it."""
    name = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    sandbox = start_sandbox(tmp_path_factory.mktemp(name), delay=3600)
    try:
        yield sandbox
    finally:
        sandbox.down(purge=True)
