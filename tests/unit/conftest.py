"""Unit tests run with no server reachable: any attempt to connect fails loudly."""

from __future__ import annotations

from typing import Any

import pytest


class ServerAccessInUnitTest(AssertionError):
    pass


@pytest.fixture(autouse=True)
def no_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ServerAccessInUnitTest("a unit test tried to connect to a database server")

    import mysql.connector
    import pymysql

    monkeypatch.setattr(mysql.connector, "connect", refuse)
    monkeypatch.setattr(pymysql, "connect", refuse)
