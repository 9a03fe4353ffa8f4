"""The follower's disk watch: low below min_free, room again only a margin above it, and a
look at the filesystem at most once a second."""

from __future__ import annotations

from pathlib import Path

from drkit.index.diskwatch import RESUME_MARGIN, DiskWatch
from drkit.io.diskroom import DiskRoom, disk_room

TOTAL = 1_000_000


def test_low_below_min_free_and_room_again_only_past_the_margin() -> None:
    free = [0.5]
    now = [0.0]
    changes: list[tuple[bool, float | None]] = []
    watch = DiskWatch(
        Path("/archive"),
        0.10,
        lambda room, low: changes.append((low, room.fraction)),
        clock=lambda: now[0],
        measure=lambda folder, floor: DiskRoom(folder, int(free[0] * TOTAL), TOTAL, floor),
    )

    def look(fraction: float) -> bool:
        free[0] = fraction
        now[0] += 1.0
        return watch.low()

    assert not look(0.5)
    assert look(0.09)
    assert look(0.10 + RESUME_MARGIN / 2)  # above min_free, not yet past the margin
    assert not look(0.10 + RESUME_MARGIN * 1.5)
    assert changes == [(True, 0.09), (False, 0.10 + RESUME_MARGIN * 1.5)]
    free[0] = 0.01
    now[0] += 0.5  # within a second of the last look: the filesystem is not asked again
    assert not watch.low()


def test_disk_room_of_a_folder_not_made_yet_is_its_parents(tmp_path: Path) -> None:
    room = disk_room(tmp_path / "not-made-yet" / "binlogs", 0.1)
    assert room.total and room.free is not None and room.free <= room.total
    assert "min_free is 10%" in room.describe()
