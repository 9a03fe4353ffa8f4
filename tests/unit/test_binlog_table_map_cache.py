"""One TableMapCache shared by many scans (the indexer following a primary): each scan reads
what a scan of its own reads, and the table maps are parsed once, not once per scan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drkit.binlog import scan as scan_module
from drkit.binlog.scan import TableMapCache, scan_file
from tests.support.scan_modes import scan_mode  # noqa: F401 - a fixture: each test runs on both walks

pytestmark = pytest.mark.usefixtures("scan_mode")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binlog"
EXPECTED: dict[str, Any] = json.loads((FIXTURES / "expected.json").read_text())
FILES = sorted(EXPECTED["files"])


def _resumed(cache: TableMapCache | None) -> list[Any]:
    """Every file scanned transaction by transaction, each scan resuming where the last ended."""
    found: list[Any] = []
    for name in FILES:
        position = 4
        while True:
            scan = scan_file(FIXTURES / name, position, table_maps=cache)
            first = next(iter(scan), None)
            if first is None:
                break
            found.append(first)
            position = first.end_pos
            scan.close()
    return found


def test_scans_sharing_a_cache_read_what_fresh_scans_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh = _resumed(None)
    parsed: list[str] = []
    real = scan_module.parse_table_map

    def counting(*args: Any, **kwargs: Any) -> Any:
        parsed.append("x")
        return real(*args, **kwargs)

    monkeypatch.setattr(scan_module, "parse_table_map", counting)
    cache = TableMapCache()
    shared = _resumed(cache)
    assert shared == fresh
    assert any(t.tables for t in shared)  # row counts were read through the cache
    # Parsed once per distinct table layout, not once per scan.
    assert len(parsed) == len(cache.by_body) < sum(1 for t in shared if t.tables)


def test_a_full_cache_starts_over_and_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = _resumed(None)
    monkeypatch.setattr(TableMapCache, "LIMIT", 2)
    cache = TableMapCache()
    assert _resumed(cache) == fresh
    assert len(cache.by_body) <= 2
