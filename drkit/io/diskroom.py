"""Free space on the archive's filesystem, against `[retention] min_free`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DiskRoom:
    """The archive filesystem's free and total bytes (None: could not be read) and the floor."""

    folder: Path
    free: int | None
    total: int | None
    min_free: float

    @property
    def fraction(self) -> float | None:
        if self.free is None or not self.total:
            return None
        return self.free / self.total

    def below(self, floor: float) -> bool:
        fraction = self.fraction
        return fraction is not None and fraction < floor

    @property
    def low(self) -> bool:
        return self.below(self.min_free)

    def describe(self) -> str:
        fraction = self.fraction
        if fraction is None or self.free is None:
            return f"the free space of {self.folder}'s filesystem is unknown"
        return (
            f"{self.folder}'s filesystem has {self.free / 1048576:.1f} MiB free ({fraction:.1%}), "
            f"min_free is {self.min_free:.0%}"
        )


def disk_room(folder: Path, min_free: float) -> DiskRoom:
    """The room on `folder`'s filesystem (its nearest existing parent's); never raises."""
    for candidate in (folder, *folder.parents):
        try:
            stats = os.statvfs(candidate)
        except FileNotFoundError:
            continue
        except OSError:
            break
        # f_bavail: what an unprivileged writer may still use (root's reserve is not ours).
        return DiskRoom(
            folder, stats.f_bavail * stats.f_frsize, stats.f_blocks * stats.f_frsize, min_free
        )
    return DiskRoom(folder, None, None, min_free)
