"""The archive as `drkit status` and the metrics show it: its files and bytes, the oldest and newest
indexed transaction, and the free space of its filesystem against `[retention] min_free`."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from drkit.compression import stored_path
from drkit.config import Config
from drkit.errors import DrkitError
from drkit.index import gaps
from drkit.index.store import IndexStore
from drkit.io.archive import archived_files
from drkit.render import counted, size
from drkit.timeparse import iso


@dataclass(frozen=True)
class ArchiveSummary:
    """How much the archive holds and reaches, and how much room is left (never raises)."""

    path: str
    files: int
    bytes: int
    oldest_id: int | None = None
    oldest_gtid: str | None = None
    oldest_time: float | None = None
    newest_id: int | None = None
    newest_gtid: str | None = None
    newest_time: float | None = None
    disk_free: int | None = None  # bytes free on the archive's filesystem
    disk_total: int | None = None
    min_free: float = 0.10  # the fraction [retention] asks to keep free
    keep: float = 7 * 86400.0
    gaps: tuple[str, ...] = ()  # binlogs lost before they were archived (drkit.index.gaps)

    @property
    def free_fraction(self) -> float | None:
        if self.disk_free is None or not self.disk_total:
            return None
        return self.disk_free / self.disk_total

    @property
    def disk_low(self) -> bool:
        fraction = self.free_fraction
        return fraction is not None and fraction < self.min_free

    def describe(self) -> str:
        text = f"ARCHIVE {self.path}: {counted(self.files, 'file')}, {size(self.bytes)}"
        if self.oldest_id is not None and self.oldest_time is not None:
            text += f"; oldest #{self.oldest_id} {self.oldest_gtid} at {iso(self.oldest_time)}"
        if self.newest_id is not None and self.newest_time is not None:
            text += f", newest #{self.newest_id} {self.newest_gtid} at {iso(self.newest_time)}"
        fraction = self.free_fraction
        if fraction is not None:
            low = " LOW" if self.disk_low else ""
            text += f"; disk {fraction:.0%} free{low} (min_free {self.min_free:.0%})"
        for gap in self.gaps:
            text += f"\n  GAP {gap}"
        return text

    def to_json(self) -> dict[str, object]:
        return {**self.__dict__, "free_fraction": self.free_fraction, "disk_low": self.disk_low}


def archive_summary(config: Config) -> ArchiveSummary:
    """The archive's files, reach and room; what cannot be read is left out, never raised."""
    folder = config.index.archive_dir
    sizes = []
    for path in archived_files(folder):
        with contextlib.suppress(OSError):
            sizes.append(stored_path(path).stat().st_size)
    free = total = None
    with contextlib.suppress(OSError):
        usage = shutil.disk_usage(_existing(folder))
        free, total = usage.free, usage.total
    oldest = newest = None
    lost: tuple[str, ...] = ()
    if config.index.path.exists():
        with contextlib.suppress(DrkitError), IndexStore(config.index.path, readonly=True) as store:
            oldest, newest = store.oldest(), store.latest()
            lost = tuple(gap.describe() for gap in gaps.recorded(store))
    return ArchiveSummary(
        str(folder),
        len(sizes),
        sum(sizes),
        oldest.id if oldest else None,
        oldest.gtid if oldest else None,
        float(oldest.timestamp) if oldest else None,
        newest.id if newest else None,
        newest.gtid if newest else None,
        float(newest.timestamp) if newest else None,
        free,
        total,
        config.retention.min_free,
        config.retention.keep,
        lost,
    )


def _existing(folder: Path) -> Path:
    """The folder, or its nearest existing parent (the filesystem it will be on)."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate
    return folder
