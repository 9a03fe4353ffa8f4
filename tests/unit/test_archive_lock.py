"""The archive's lock: one writer at a time; a second one waits for it, or is told who holds it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from drkit.io.archive import LOCK_NAME, ArchiveBusyError, ArchiveLock, holder


def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    with ArchiveLock(tmp_path), pytest.raises(ArchiveBusyError) as refused:
        ArchiveLock(tmp_path).acquire(wait=0)
    assert refused.value.pid == os.getpid()
    assert f"being written by pid {os.getpid()}" in refused.value.message
    assert holder(tmp_path) is None  # released on leaving the block


def test_a_waiting_writer_gets_the_lock_once_it_is_released(tmp_path: Path) -> None:
    first = ArchiveLock(tmp_path)
    first.acquire()
    releasing = threading.Timer(0.2, first.release)
    releasing.start()
    second = ArchiveLock(tmp_path)
    try:
        second.acquire(wait=30)  # polls until the first lets go, long before 30 s
        assert holder(tmp_path) == os.getpid()
        assert (tmp_path / LOCK_NAME).read_text() == str(os.getpid())
    finally:
        releasing.join()
        second.release()
    assert holder(tmp_path) is None
