"""Docker tests run MySQL 8.4 and MariaDB 11.4 in containers; without a Docker engine they skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.sandbox.containers import docker_unavailable_reason


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    reason = None
    checked = False
    for item in items:
        if here not in Path(str(item.fspath)).parents:
            continue
        item.add_marker(pytest.mark.docker)
        if not checked:
            reason, checked = docker_unavailable_reason(), True
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"needs a Docker engine: {reason}"))
