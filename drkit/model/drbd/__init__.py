"""DRBD state as one normalized value, whichever tool reported it.

The package's parts: `resource` (the values), `json_status`, `text_status` and `proc` (one parser
each). Every public name is importable from here.

Three outputs describe the same state in different words: `drbdsetup status --json` (DRBD 9), the
text of `drbdsetup status` / `drbdadm status` (plain or `--verbose --statistics`; drbd-utils print
the same text for DRBD 8.4), and `/proc/drbd` (DRBD 8.4). Every parser returns a tuple of
DrbdResource in DRBD 9 words; malformed input raises ValueError naming the line or key at fault.
"""

from __future__ import annotations

from drkit.model.drbd.json_status import parse_drbdsetup_json
from drkit.model.drbd.proc import parse_proc_drbd
from drkit.model.drbd.resource import (
    CONNECTED,
    CONNECTING,
    DISK_UNKNOWN,
    DISKLESS,
    ESTABLISHED,
    INCONSISTENT,
    PRIMARY,
    REPLICATION_OFF,
    ROLES,
    STANDALONE,
    SYNC_SOURCE_STATES,
    SYNC_STATES,
    SYNC_TARGET_STATES,
    UP_TO_DATE,
    DrbdFormat,
    DrbdPeer,
    DrbdPeerVolume,
    DrbdResource,
    DrbdVolume,
    find_resource,
)
from drkit.model.drbd.text_status import parse_status_text


def detect_format(text: str) -> DrbdFormat:
    """Which tool printed `text`, judged from how it starts."""
    body = text.lstrip()
    if body.startswith(("[", "{")):
        return DrbdFormat.JSON
    if body.startswith("version:"):
        return DrbdFormat.PROC
    return DrbdFormat.STATUS_TEXT


def parse_any(text: str) -> tuple[DrbdResource, ...]:
    """Resources from any supported output, its format detected from the text itself."""
    kind = detect_format(text)
    if kind is DrbdFormat.JSON:
        return parse_drbdsetup_json(text)
    if kind is DrbdFormat.PROC:
        return parse_proc_drbd(text)
    return parse_status_text(text)


__all__ = [
    "CONNECTED",
    "CONNECTING",
    "DISKLESS",
    "DISK_UNKNOWN",
    "ESTABLISHED",
    "INCONSISTENT",
    "PRIMARY",
    "REPLICATION_OFF",
    "ROLES",
    "STANDALONE",
    "SYNC_SOURCE_STATES",
    "SYNC_STATES",
    "SYNC_TARGET_STATES",
    "UP_TO_DATE",
    "DrbdFormat",
    "DrbdPeer",
    "DrbdPeerVolume",
    "DrbdResource",
    "DrbdVolume",
    "detect_format",
    "find_resource",
    "parse_any",
    "parse_drbdsetup_json",
    "parse_proc_drbd",
    "parse_status_text",
]
