"""Watching the archive's free space while following: copying stops below `min_free` and
resumes once there is room again (a little more than `min_free`, so it does not flap)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from drkit.io.diskroom import DiskRoom, disk_room

CHECK_EVERY = 1.0  # seconds between two looks at the filesystem
RESUME_MARGIN = 0.02  # of the filesystem, above min_free, before copying resumes

OnDisk = Callable[[DiskRoom, bool], None]  # the room, and whether it is low (a change only)


class DiskWatch:
    """Says whether copying must stay stopped; `on_change` hears each change (low, room again)."""

    def __init__(
        self,
        folder: Path,
        min_free: float,
        on_change: OnDisk,
        clock: Callable[[], float] = time.monotonic,
        measure: Callable[[Path, float], DiskRoom] = disk_room,
    ) -> None:
        self.folder = folder
        self.min_free = min_free
        self.on_change = on_change
        self.clock = clock
        self.measure = measure
        self.is_low = False
        self.room: DiskRoom | None = None
        self._checked = float("-inf")

    def low(self) -> bool:
        """Whether the archive's filesystem is (still) too full to copy into."""
        now = self.clock()
        if now - self._checked < CHECK_EVERY:
            return self.is_low
        self._checked = now
        room = self.measure(self.folder, self.min_free)
        self.room = room
        floor = self.min_free + RESUME_MARGIN if self.is_low else self.min_free
        low = room.below(floor)
        if low != self.is_low:
            self.is_low = low
            self.on_change(room, low)
        return low
