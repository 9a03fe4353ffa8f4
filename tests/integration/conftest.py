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


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox shared by one test module, delay one hour (nothing reaches `delayed` by itself)."""
    box = start_sandbox(tmp_path_factory.mktemp("sandbox"), delay=3600)
    try:
        yield box
    finally:
        box.down(purge=True)
