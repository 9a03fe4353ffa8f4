"""DRBD verdicts, table-driven: which findings a state yields, at which level, for which reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drkit.model.drbd import (
    DrbdFormat,
    DrbdPeer,
    DrbdPeerVolume,
    DrbdResource,
    DrbdVolume,
    parse_any,
    parse_drbdsetup_json,
)
from drkit.model.drbd_verdict import (
    DEGRADED,
    HEALTHY,
    IO_SUSPENDED,
    RESOURCE_MISSING,
    RESYNCING,
    SPLIT_BRAIN_RISK,
    Level,
    Verdict,
    assess,
    assess_configured,
    worst,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "drbd"

OK, WARNING, CRITICAL = Level.OK, Level.WARNING, Level.CRITICAL


def peer_volume(
    replication: str = "Established",
    peer_disk: str = "UpToDate",
    volume: int = 0,
    **extra: object,
) -> DrbdPeerVolume:
    return DrbdPeerVolume(volume, replication, peer_disk, **extra)  # type: ignore[arg-type]


def peer(
    name: str = "db2",
    connection: str = "Connected",
    role: str = "Secondary",
    volumes: tuple[DrbdPeerVolume, ...] | None = None,
) -> DrbdPeer:
    if volumes is None:
        volumes = (peer_volume(),) if connection == "Connected" else ()
    return DrbdPeer(name, connection, role, volumes=volumes)


def resource(
    role: str = "Secondary",
    disks: tuple[DrbdVolume, ...] = (DrbdVolume(0, "UpToDate"),),
    peers: tuple[DrbdPeer, ...] | None = None,
    suspended: tuple[str, ...] = (),
) -> DrbdResource:
    return DrbdResource(
        "r0",
        role,
        disks,
        (peer(),) if peers is None else peers,
        DrbdFormat.JSON,
        suspended=suspended,
    )


TWO_VOLUMES = (DrbdVolume(0, "UpToDate"), DrbdVolume(1, "UpToDate"))

# (resource, [(level, code, a phrase the reason must contain), ...] in the order expected)
CASES: dict[str, tuple[DrbdResource, list[tuple[Level, str, str]]]] = {
    "healthy": (
        resource(),
        [(OK, HEALTHY, "r0: Secondary, disk UpToDate, 1 peer connected and up to date")],
    ),
    "standalone peer": (
        resource(peers=(peer(connection="StandAlone", role="Unknown"),)),
        [(CRITICAL, SPLIT_BRAIN_RISK, "r0: the connection to peer db2 is StandAlone: DRBD will")],
    ),
    "standalone peer with data out of sync is not also reported degraded": (
        resource(
            role="Primary",
            peers=(
                peer(
                    connection="StandAlone",
                    role="Unknown",
                    volumes=(peer_volume("Off", "DUnknown", out_of_sync_kib=4096),),
                ),
            ),
        ),
        [(CRITICAL, SPLIT_BRAIN_RISK, "is StandAlone with 4096 KiB out of sync")],
    ),
    "two primaries": (
        resource(role="Primary", peers=(peer(role="Primary"),)),
        [(CRITICAL, SPLIT_BRAIN_RISK, "r0: 2 Primaries (this node (r0), peer db2)")],
    ),
    "two primary peers seen from a secondary": (
        resource(peers=(peer("db2", role="Primary"), peer("db3", role="Primary"))),
        [(CRITICAL, SPLIT_BRAIN_RISK, "2 Primaries (peer db2, peer db3)")],
    ),
    "one primary is fine": (
        resource(role="Primary"),
        [(OK, HEALTHY, "r0: Primary, disk UpToDate")],
    ),
    "peer connecting": (
        resource(peers=(peer(connection="Connecting", role="Unknown"),)),
        [(WARNING, DEGRADED, "r0: peer db2 is Connecting: nothing is replicated to it")],
    ),
    "one of three peers connecting": (
        resource(peers=(peer("a"), peer("b"), peer("c", connection="NetworkFailure"))),
        [(WARNING, DEGRADED, "peer c is NetworkFailure")],
    ),
    "local disk outdated": (
        resource(disks=(DrbdVolume(0, "Outdated"),)),
        [(WARNING, DEGRADED, "r0: local disk is Outdated: its data is known to be older")],
    ),
    "local disk inconsistent without a resync": (
        resource(disks=(DrbdVolume(0, "Inconsistent"),)),
        [(WARNING, DEGRADED, "local disk is Inconsistent: its data is partly written")],
    ),
    "local disk diskless by accident": (
        resource(disks=(DrbdVolume(0, "Diskless", client=False),)),
        [(WARNING, DEGRADED, "local disk is Diskless: it has no backing disk")],
    ),
    "local disk diskless on purpose": (
        resource(disks=(DrbdVolume(0, "Diskless", client=True),)),
        [(OK, HEALTHY, "disk Diskless (client)")],
    ),
    "local disk failed": (
        resource(disks=(DrbdVolume(0, "Failed"),)),
        [(WARNING, DEGRADED, "local disk is Failed")],
    ),
    "peer disk outdated": (
        resource(peers=(peer(volumes=(peer_volume(peer_disk="Outdated"),)),)),
        [(WARNING, DEGRADED, "r0: peer db2 has disk Outdated, not UpToDate")],
    ),
    "peer disk inconsistent": (
        resource(peers=(peer(volumes=(peer_volume(peer_disk="Inconsistent"),)),)),
        [(WARNING, DEGRADED, "peer db2 has disk Inconsistent")],
    ),
    "peer is a diskless client": (
        resource(peers=(peer(volumes=(peer_volume(peer_disk="Diskless", peer_client=True),)),)),
        [(OK, HEALTHY, "1 peer connected")],
    ),
    "peer diskless by accident": (
        resource(peers=(peer(volumes=(peer_volume(peer_disk="Diskless", peer_client=False),)),)),
        [(WARNING, DEGRADED, "peer db2 has disk Diskless")],
    ),
    "sending a resync": (
        resource(
            role="Primary",
            peers=(
                peer(
                    volumes=(
                        peer_volume("SyncSource", "Inconsistent", sync_percent=68.5, eta_seconds=5),
                    ),
                ),
            ),
        ),
        [
            (
                WARNING,
                RESYNCING,
                "r0: resync to peer db2 in progress, 68.5% done, about 5 s left; "
                "peer db2 holds an incomplete copy",
            )
        ],
    ),
    "receiving a resync: the inconsistent local disk is part of it": (
        resource(
            disks=(DrbdVolume(0, "Inconsistent"),),
            peers=(
                peer(
                    role="Primary",
                    volumes=(peer_volume("SyncTarget", sync_percent=45.25, eta_seconds=100),),
                ),
            ),
        ),
        [
            (
                WARNING,
                RESYNCING,
                "resync from peer db2 in progress, 45.2% done, about 1 min 40 s left; "
                "this node holds an incomplete copy",
            )
        ],
    ),
    "paused resync without progress": (
        resource(peers=(peer(volumes=(peer_volume("PausedSyncT"),)),)),
        [(WARNING, RESYNCING, "resync from peer db2 is paused, progress not reported")],
    ),
    "resync starting": (
        resource(peers=(peer(volumes=(peer_volume("WFBitMapS", "Outdated"),)),)),
        [(WARNING, RESYNCING, "resync to peer db2 is starting (WFBitMapS)")],
    ),
    "long resync": (
        resource(peers=(peer(volumes=(peer_volume("SyncSource", eta_seconds=7384),)),)),
        [(WARNING, RESYNCING, "about 2 h 03 min left")],
    ),
    "congestion": (
        resource(peers=(peer(volumes=(peer_volume("Ahead", "Consistent"),)),)),
        [(WARNING, DEGRADED, "peer db2 replication is Ahead: under congestion")],
    ),
    "connected but replication off": (
        resource(peers=(peer(volumes=(peer_volume("Off", "DUnknown"),)),)),
        [(WARNING, DEGRADED, "peer db2 is connected but replication is Off")],
    ),
    "online verify is not a problem": (
        resource(peers=(peer(volumes=(peer_volume("VerifyS"),)),)),
        [(OK, HEALTHY, "r0: Secondary")],
    ),
    "io suspended": (
        resource(role="Primary", suspended=("no-data",)),
        [(CRITICAL, IO_SUSPENDED, "r0: I/O is suspended (no-data): writes to it hang")],
    ),
    "quorum lost": (
        resource(disks=(DrbdVolume(0, "UpToDate", quorum=False),)),
        [(WARNING, DEGRADED, "r0: has lost quorum")],
    ),
    "no peers at all": (
        resource(peers=()),
        [(WARNING, DEGRADED, "r0: no peer is configured, so nothing mirrors this data")],
    ),
    "several volumes are named": (
        resource(
            disks=TWO_VOLUMES,
            peers=(
                peer(
                    volumes=(
                        peer_volume(volume=0),
                        peer_volume("SyncSource", "Inconsistent", volume=1, sync_percent=1.0),
                    ),
                ),
            ),
        ),
        [(WARNING, RESYNCING, "r0 volume 1: resync to peer db2 in progress, 1.0% done")],
    ),
    "critical findings come first": (
        resource(
            disks=(DrbdVolume(0, "Outdated"),),
            peers=(peer("db2", connection="Connecting"), peer("db3", connection="StandAlone")),
        ),
        [
            (CRITICAL, SPLIT_BRAIN_RISK, "peer db3 is StandAlone"),
            (WARNING, DEGRADED, "local disk is Outdated"),
            (WARNING, DEGRADED, "peer db2 is Connecting"),
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_assess(case: str) -> None:
    state, expected = CASES[case]
    verdicts = assess(state)
    assert [(v.level, v.code) for v in verdicts] == [(level, code) for level, code, _ in expected]
    for verdict, (_, _, phrase) in zip(verdicts, expected, strict=True):
        assert phrase in verdict.reason


# The real samples: the codes each resource gets, in file order.
FIXTURE_CODES = {
    "drbdsetup-status-9.json": [[HEALTHY]],
    "drbdsetup-status-9.txt": [[HEALTHY]],
    "drbdsetup-status-9-verbose.txt": [[HEALTHY]],
    "drbdadm-status-9-three-peers.txt": [[DEGRADED]],
    "proc-drbd-84.txt": [[HEALTHY], [HEALTHY], [DEGRADED], [DEGRADED], [SPLIT_BRAIN_RISK]],
    "proc-drbd-84-sync.txt": [[SPLIT_BRAIN_RISK], [RESYNCING]],
}


@pytest.mark.parametrize("name", sorted(FIXTURE_CODES))
def test_fixture_verdicts(name: str) -> None:
    resources = parse_any((FIXTURES / name).read_text(encoding="utf-8"))
    codes = [[verdict.code for verdict in assess(r)] for r in resources]
    assert codes == FIXTURE_CODES[name]


def test_fixture_reasons_name_what_was_seen() -> None:
    proc = parse_any((FIXTURES / "proc-drbd-84.txt").read_text(encoding="utf-8"))
    assert assess(proc[2])[0].reason.startswith("drbd4: the peer is Connecting with 1048320 KiB")
    assert "drbd6: local disk is Diskless" in assess(proc[3])[0].reason
    three = parse_any((FIXTURES / "drbdadm-status-9-three-peers.txt").read_text(encoding="utf-8"))
    assert "home: peer nono is Connecting" in assess(three[0])[0].reason
    sync = parse_any((FIXTURES / "proc-drbd-84-sync.txt").read_text(encoding="utf-8"))
    assert "68.5% done, about 5 s left" in assess(sync[1])[0].reason


def test_real_json_turned_into_two_primaries_is_a_split_brain_risk() -> None:
    data = json.loads((FIXTURES / "drbdsetup-status-9.json").read_text(encoding="utf-8"))
    data[0]["role"] = "Primary"  # the peer already is Primary
    (state,) = parse_drbdsetup_json(json.dumps(data))
    (verdict,) = assess(state)
    assert (verdict.level, verdict.code) == (CRITICAL, SPLIT_BRAIN_RISK)
    assert "2 Primaries (this node (some-resource), peer some-peer)" in verdict.reason


@pytest.mark.parametrize(
    ("wanted", "codes", "phrase"),
    [
        ("some-resource", [HEALTHY], "some-resource: Secondary"),
        ("minor:1000", [HEALTHY], "some-resource: Secondary"),
        ("r0", [RESOURCE_MISSING], "resource r0 is not in the DRBD output (resources seen: some-"),
    ],
)
def test_assess_configured_picks_the_configured_resource(
    wanted: str, codes: list[str], phrase: str
) -> None:
    resources = parse_any((FIXTURES / "drbdsetup-status-9.json").read_text(encoding="utf-8"))
    verdicts = assess_configured(resources, wanted)
    assert [v.code for v in verdicts] == codes
    assert phrase in verdicts[0].reason


def test_assess_configured_on_empty_output() -> None:
    (verdict,) = assess_configured((), "r0")
    assert (verdict.level, verdict.code) == (CRITICAL, RESOURCE_MISSING)
    assert "resources seen: none" in verdict.reason


def test_assess_configured_by_minor_on_proc_drbd() -> None:
    resources = parse_any((FIXTURES / "proc-drbd-84-sync.txt").read_text(encoding="utf-8"))
    assert [v.code for v in assess_configured(resources, "minor:5")] == [RESYNCING]
    assert [v.code for v in assess_configured(resources, "/dev/drbd0")] == [SPLIT_BRAIN_RISK]
    assert [v.code for v in assess_configured(resources, "minor:3")] == [RESOURCE_MISSING]


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ([], OK),
        ([OK], OK),
        ([OK, WARNING], WARNING),
        ([WARNING, CRITICAL, OK], CRITICAL),
    ],
)
def test_worst(levels: list[Level], expected: Level) -> None:
    assert worst(Verdict(level, "x", "y") for level in levels) is expected


def test_verdict_to_json() -> None:
    verdict = Verdict(WARNING, DEGRADED, "r0: peer db2 is Connecting")
    assert json.loads(json.dumps(verdict.to_json())) == {
        "level": "warning",
        "code": "degraded",
        "reason": "r0: peer db2 is Connecting",
    }
