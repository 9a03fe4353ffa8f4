"""The archive's filesystem running low, on a small tmpfs mounted for the test: the guard stops
copying before the disk fills, alerts `disk_low`, and resumes where it stopped once there is
room, with an archive identical to the primary's binlogs."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.guard import guard_state, hook_server, running_guard, set_guard_config
from tests.support.indexing import archive_differences, copier_pids, indexed_gtids, wait_indexed
from tests.support.sandbox import Sandbox, wait_for
from tests.support.workload import create_shop

DISK_MB = 8


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of DISK_MB MiB, unmounted afterwards."""
    folder = tmp_path / "disk"
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(disk: Path, leave_mb: float) -> Path:
    """A file that leaves about `leave_mb` MiB free on the disk."""
    filler = disk / "filler"
    free = _free(disk)
    size = max(0, free - int(leave_mb * 1048576))
    with filler.open("wb") as out:
        out.write(b"\0" * size)  # tmpfs has no holes to cheat with: every byte takes room
    return filler


def _free(disk: Path) -> int:
    stats = os.statvfs(disk)
    return stats.f_bavail * stats.f_frsize


def test_guard_stops_copying_when_the_disk_runs_low_and_resumes_with_room(
    box: Sandbox, small_disk: Path, tmp_path: Path
) -> None:
    archive = small_disk / "binlogs"
    text = box.config_file.read_text(encoding="utf-8")
    box.config_file.write_text(
        text.replace('archive_dir = "binlogs"', f'archive_dir = "{archive}"')
        + '\n[retention]\nmin_free = "30%"\n',
        encoding="utf-8",
    )
    create_shop(box)
    with hook_server() as hook:
        set_guard_config(box, f'[alerts]\nwebhooks = ["{hook.url()}"]\nretries = 0')
        with running_guard(box, tmp_path / "guard.log") as guard:
            first = str(box.value("primary", "SELECT @@gtid_binlog_pos"))
            wait_indexed(box.config().index.path, {first})

            filler = _fill(small_disk, leave_mb=DISK_MB * 0.2)  # 20% free < 30%
            wait_for(
                lambda: any(r["json"]["alert"] == "disk_low" for r in hook.received),
                timeout=20,
                what="the disk_low alert",
            )
            alert = next(r["json"] for r in hook.received if r["json"]["alert"] == "disk_low")
            assert alert["archive"] == str(archive)
            assert alert["free_fraction"] < 0.3 and alert["min_free"] == 0.3
            assert "copying" in alert["summary"] and "stopped" in alert["summary"]
            wait_for(lambda: copier_pids(archive) == [], timeout=10, what="the copier to stop")
            assert guard_state(box)["primary"] == "copying stopped: disk low"

            # The primary goes on: nothing of this reaches the archive while the disk is low.
            for i in range(200):
                box.sql("primary", f"INSERT INTO shop.audit (what) VALUES ('while low {i}')")
            later = str(box.value("primary", "SELECT @@gtid_binlog_pos"))
            assert later not in indexed_gtids(box.config().index.path)
            assert copier_pids(archive) == []

            filler.unlink()
            wait_for(
                lambda: any(r["json"]["alert"] == "disk_ok" for r in hook.received),
                timeout=20,
                what="the disk_ok alert",
            )
            wait_indexed(box.config().index.path, {later})
            assert guard.process.poll() is None
    # Copying resumed where it stopped: every archived file is the primary's, byte for byte.
    assert archive_differences(box, archive) == {}
    assert box.value("primary", "SELECT COUNT(*) FROM shop.audit") == 200
