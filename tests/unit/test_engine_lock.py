"""The engine lock: one plan at a time per topology, across processes and threads alike."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from drkit.errors import ExitCode, RefusedError
from drkit.io.lock import EngineLock, current_holder, engine_lock, lock_path


def test_second_holder_in_another_process_is_refused_naming_the_first(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from drkit.io.lock import EngineLock
        EngineLock(Path({str(tmp_path)!r}), what="a recovery", command="drkit recover --before 7").acquire()
        print("held", flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        holder = current_holder(tmp_path)
        assert holder is not None and holder.pid == child.pid
        with pytest.raises(RefusedError) as refused:
            EngineLock(tmp_path, what="resume", command="drkit resume").acquire()
        assert refused.value.exit_code is ExitCode.REFUSED
        assert f"pid {child.pid}" in refused.value.message
        assert "drkit recover --before 7" in refused.value.message
        assert "a recovery" in refused.value.message
        child.kill()  # kill -9: the kernel releases the flock, nothing is left stale
        child.wait()
        with engine_lock(tmp_path, what="resume", command="drkit resume") as lock:
            assert lock.held
            holder = current_holder(tmp_path)
            assert holder is not None and holder.pid == os.getpid()
        assert current_holder(tmp_path) is None
    finally:
        child.kill()
        child.wait()


def test_another_thread_of_the_same_process_is_refused_too(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with engine_lock(tmp_path, what="a recovery", command="console"):

        def second() -> None:
            try:
                EngineLock(tmp_path, what="an extraction", command="console").acquire()
            except BaseException as exc:
                errors.append(exc)

        worker = threading.Thread(target=second)
        worker.start()
        worker.join()
    assert len(errors) == 1 and isinstance(errors[0], RefusedError)
    assert "an extraction" in str(errors[0]) and f"pid {os.getpid()}" in str(errors[0])
    # Released: the next one gets it.
    with engine_lock(tmp_path, what="an extraction", command="console") as lock:
        assert lock.held


def test_lock_file_is_private_and_emptied_on_release(tmp_path: Path) -> None:
    lock = EngineLock(tmp_path, what="a promotion", command="drkit promote").acquire()
    path = lock_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"drkit promote" in path.read_bytes()
    lock.release()
    lock.release()  # twice is harmless
    assert path.read_bytes() == b""
    assert current_holder(tmp_path) is None
