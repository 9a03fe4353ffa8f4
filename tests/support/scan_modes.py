"""The two ways drkit.binlog.scan reads a file: the compiled walk (drkit/binlog/_scanner.c) and
the pure-Python one. A test module runs on both with

    from tests.support.scan_modes import scan_mode  # noqa: F401 (a fixture)
    pytestmark = pytest.mark.usefixtures("scan_mode")
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from drkit.binlog import BinlogFormatError, Transaction, scan_bytes
from drkit.binlog.compiled import PURE_PYTHON_VARIABLE, available

MODES = ("compiled", "pure")


@contextmanager
def reading_with(mode: str) -> Iterator[None]:
    """Scans started inside read the way `mode` says; the compiled walk must have been built
    (`make` builds it: a test meant for it must not pass on the fallback unnoticed)."""
    if mode == "compiled":
        assert available(), "drkit/binlog/_scanner.c was not built (pip install -e . builds it)"
    previous = os.environ.get(PURE_PYTHON_VARIABLE)
    os.environ[PURE_PYTHON_VARIABLE] = "1" if mode == "pure" else "0"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[PURE_PYTHON_VARIABLE]
        else:
            os.environ[PURE_PYTHON_VARIABLE] = previous


@pytest.fixture(params=MODES)
def scan_mode(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test once on the compiled walk and once on the pure-Python walk."""
    mode: str = request.param
    with reading_with(mode):
        yield mode


@dataclass(frozen=True)
class ScanOutcome:
    """Everything a scan says: its records, where it stopped and why, or the error's words."""

    records: list[Transaction]
    position: int
    finished: bool
    next_file: str | None
    stop_reason: str
    events: int
    abandoned: int
    error: str | None


def scan_outcome(
    data: bytes, name: str, mode: str, *, verify: bool = True, start_pos: int | None = None
) -> ScanOutcome:
    """Scan bytes the way `mode` says, to the end or to the error."""
    with reading_with(mode):
        scan = scan_bytes(data, name, start_pos, verify_checksums=verify)
        records: list[Transaction] = []
        error = None
        try:
            records.extend(scan)
        except BinlogFormatError as exc:
            error = f"{exc} (hint: {exc.hint})"
    return ScanOutcome(
        records,
        scan.position,
        scan.finished,
        scan.next_file,
        scan.stop_reason,
        scan.events,
        scan.abandoned,
        error,
    )
