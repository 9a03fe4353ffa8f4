"""DRBD parsers on every real sample in tests/fixtures/drbd, their quirks, and malformed input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drkit.model.drbd import (
    DrbdFormat,
    DrbdResource,
    detect_format,
    find_resource,
    parse_any,
    parse_drbdsetup_json,
    parse_proc_drbd,
    parse_status_text,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "drbd"
SHARED_FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "drbd"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def fixture_files() -> list[str]:
    return sorted(path.name for path in FIXTURES.iterdir() if path.name != "README.md")


def summary(resource: DrbdResource) -> tuple[Any, ...]:
    """A resource in one comparable line: label, role, local disks, and each peer's state."""
    return (
        resource.label,
        resource.role,
        tuple(volume.disk for volume in resource.volumes),
        tuple(
            (
                peer.name,
                peer.connection,
                peer.role,
                tuple(
                    (v.replication, v.peer_disk, v.sync_percent, v.eta_seconds)
                    for v in peer.volumes
                ),
            )
            for peer in resource.peers
        ),
    )


OK_PEER = ("Established", "UpToDate", None, None)

# What each real sample must parse to; a new fixture file without an entry fails the test below.
EXPECTED: dict[str, tuple[DrbdFormat, list[tuple[Any, ...]]]] = {
    "drbdsetup-status-9.json": (
        DrbdFormat.JSON,
        [
            (
                "some-resource",
                "Secondary",
                ("UpToDate",),
                (("some-peer", "Connected", "Primary", (OK_PEER,)),),
            )
        ],
    ),
    "drbdsetup-status-9.txt": (
        DrbdFormat.STATUS_TEXT,
        [
            (
                "some-resource",
                "Secondary",
                ("UpToDate",),
                (("some-peer", "Connected", "Primary", (OK_PEER,)),),
            )
        ],
    ),
    "drbdsetup-status-9-verbose.txt": (
        DrbdFormat.STATUS_TEXT,
        [
            (
                "some-resource",
                "Secondary",
                ("UpToDate",),
                (("some-peer", "Connected", "Primary", (OK_PEER,)),),
            )
        ],
    ),
    "drbdadm-status-9-three-peers.txt": (
        DrbdFormat.STATUS_TEXT,
        [
            (
                "home",
                "Secondary",
                ("UpToDate",),
                (
                    ("nina", "Connected", "Secondary", (OK_PEER,)),
                    ("nino", "Connected", "Secondary", (OK_PEER,)),
                    ("nono", "Connecting", "Unknown", ()),
                ),
            )
        ],
    ),
    "proc-drbd-84.txt": (
        DrbdFormat.PROC,
        [
            ("drbd0", "Primary", ("UpToDate",), ((None, "Connected", "Secondary", (OK_PEER,)),)),
            ("drbd1", "Secondary", ("UpToDate",), ((None, "Connected", "Primary", (OK_PEER,)),)),
            (
                "drbd4",
                "Primary",
                ("UpToDate",),
                ((None, "Connecting", "Unknown", (("Off", "DUnknown", None, None),)),),
            ),
            ("drbd6", "Secondary", ("Diskless",), ((None, "Connected", "Primary", (OK_PEER,)),)),
            (
                "drbd8",
                "Secondary",
                ("UpToDate",),
                ((None, "StandAlone", "Unknown", (("Off", "DUnknown", None, None),)),),
            ),
        ],
    ),
    "proc-drbd-84-sync.txt": (
        DrbdFormat.PROC,
        [
            (
                "drbd0",
                "Primary",
                ("UpToDate",),
                ((None, "StandAlone", "Unknown", (("Off", "DUnknown", None, None),)),),
            ),
            (
                "drbd5",
                "Secondary",
                ("UpToDate",),
                ((None, "Connected", "Secondary", (("SyncSource", "Inconsistent", 68.5, 5),)),),
            ),
        ],
    ),
}


def test_every_fixture_file_has_expectations() -> None:
    assert fixture_files() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_state(name: str) -> None:
    kind, expected = EXPECTED[name]
    text = fixture(name)
    assert detect_format(text) is kind
    resources = parse_any(text)
    assert [summary(resource) for resource in resources] == expected
    assert {resource.source for resource in resources} == {kind}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_values_are_json_friendly(name: str) -> None:
    resources = parse_any(fixture(name))
    decoded = json.loads(json.dumps([resource.to_json() for resource in resources]))
    assert [item["label"] for item in decoded] == [r.label for r in resources]
    assert [item["role"] for item in decoded] == [r.role for r in resources]
    assert decoded[0]["source"] == EXPECTED[name][0].value


@pytest.mark.skipif(not SHARED_FIXTURES.is_dir(), reason="no ../shared checkout beside the repo")
def test_fixture_copies_are_byte_identical_to_shared() -> None:
    for path in SHARED_FIXTURES.iterdir():
        assert (FIXTURES / path.name).read_bytes() == path.read_bytes(), path.name


# --- drbdsetup status --json


def test_json_reads_underscore_peer_devices_and_details() -> None:
    text = fixture("drbdsetup-status-9.json")
    assert '"peer_devices"' in text and '"Connected", \n' in text  # the quirks are really there
    (resource,) = parse_drbdsetup_json(text)
    assert resource.node_id == 4
    assert resource.suspended == ()
    (volume,) = resource.volumes
    assert (volume.volume, volume.minor, volume.client, volume.quorum) == (0, 1000, False, True)
    (peer,) = resource.peers
    assert (peer.name, peer.node_id, peer.connection) == ("some-peer", 1, "Connected")
    (peer_volume,) = peer.volumes
    assert peer_volume.out_of_sync_kib == 0
    assert peer_volume.peer_client is False


def test_json_accepts_hyphenated_peer_devices() -> None:
    data = json.loads(fixture("drbdsetup-status-9.json"))
    connection = data[0]["connections"][0]
    connection["peer-devices"] = connection.pop("peer_devices")
    (resource,) = parse_drbdsetup_json(json.dumps(data))
    assert resource.peers[0].volumes[0].peer_disk == "UpToDate"


def _json_with(peer_device: dict[str, Any], **resource: Any) -> str:
    data = json.loads(fixture("drbdsetup-status-9.json"))
    data[0].update(resource)
    data[0]["connections"][0]["peer_devices"][0].update(peer_device)
    return json.dumps(data)


def test_json_resync_details_give_percent_and_eta() -> None:
    # The keys drbdsetup adds while a resync runs (drbd-utils peer_device_status_json).
    text = _json_with(
        {
            "replication-state": "SyncTarget",
            "peer-disk-state": "UpToDate",
            "has-sync-details": True,
            "out-of-sync": 524288,
            "percent-in-sync": 50.00,
            "rs-total": 2097152,
            "estimated-seconds-to-finish": 93,
            "percent-resync-done": 49.75,
        },
        devices=[{"volume": 0, "minor": 1000, "disk-state": "Inconsistent"}],
    )
    (resource,) = parse_drbdsetup_json(text)
    peer_volume = resource.peers[0].volumes[0]
    assert peer_volume.replication == "SyncTarget"
    assert peer_volume.resyncing
    assert (peer_volume.sync_percent, peer_volume.eta_seconds) == (49.75, 93)
    assert peer_volume.out_of_sync_kib == 524288


def test_json_unknown_eta_sentinel_becomes_none() -> None:
    text = _json_with({"replication-state": "SyncSource", "estimated-seconds-to-finish": 987654321})
    (resource,) = parse_drbdsetup_json(text)
    assert resource.peers[0].volumes[0].eta_seconds is None


def test_json_suspension_reasons() -> None:
    text = _json_with({}, **{"suspended": True, "suspended-quorum": True, "suspended-user": True})
    (resource,) = parse_drbdsetup_json(text)
    assert resource.suspended == ("user", "quorum")


def test_json_empty_array_is_no_resources() -> None:
    # What drbdsetup status --json prints when no resource is up.
    assert parse_drbdsetup_json("[\n]\n\n") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[\n{\n", "drbdsetup JSON: not valid JSON at line 3"),
        ('{"name": "r0"}', "expected an array of resources, got an object"),
        ("[1]", "drbdsetup JSON [0]: expected an object, got the number 1"),
    ],
)
def test_json_malformed_documents(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_drbdsetup_json(text)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d[0].pop("role"), r"drbdsetup JSON \[0\].role: missing"),
        (lambda d: d[0].update(role="Boss"), "'Boss' is not a DRBD role"),
        (lambda d: d[0]["devices"][0].update(volume="0"), r"\[0\].devices\[0\].volume: expected"),
        (lambda d: d[0]["devices"][0].update(volume=True), "volume: expected a whole number"),
        (lambda d: d[0]["connections"][0].pop("peer_devices"), r"connections\[0\].peer_devices"),
        (
            lambda d: d[0]["connections"][0]["peer_devices"][0].pop("peer-disk-state"),
            r"\[0\].connections\[0\].peer_devices\[0\].peer-disk-state: missing",
        ),
        (lambda d: d[0].update(suspended="no"), "suspended: expected true or false"),
    ],
)
def test_json_malformed_resources_name_the_key(change: Any, message: str) -> None:
    data = json.loads(fixture("drbdsetup-status-9.json"))
    change(data)
    with pytest.raises(ValueError, match=message):
        parse_drbdsetup_json(json.dumps(data))


# --- drbdsetup / drbdadm status text


def test_text_verbose_statistics_are_read() -> None:
    (resource,) = parse_status_text(fixture("drbdsetup-status-9-verbose.txt"))
    assert resource.node_id == 4
    assert resource.suspended == ()  # suspended:no
    (volume,) = resource.volumes
    assert (volume.volume, volume.minor, volume.quorum) == (0, 1000, True)
    (peer,) = resource.peers
    assert peer.node_id == 1
    assert peer.volumes[0].out_of_sync_kib == 0


def test_text_plain_connected_peer_is_inferred_established() -> None:
    # Plain status omits connection: and replication: when Connected and Established.
    (resource,) = parse_status_text(fixture("drbdsetup-status-9.txt"))
    (peer,) = resource.peers
    assert (peer.connection, peer.volumes[0].replication) == ("Connected", "Established")


def test_text_three_peers_reads_old_disk_spelling_for_peers() -> None:
    # The user guide's sample prints a peer's disk as disk:, as drbd-utils did before 2013.
    text = fixture("drbdadm-status-9-three-peers.txt")
    assert "peer-disk:" not in text
    (resource,) = parse_status_text(text)
    nina, nino, nono = resource.peers
    assert [p.volumes[0].peer_disk for p in (nina, nino)] == ["UpToDate", "UpToDate"]
    assert (nono.connection, nono.role, nono.volumes) == ("Connecting", "Unknown", ())


# A resync as drbdsetup prints it (field order and indents from drbd-utils' drbdsetup.c): two
# volumes, one Established and one SyncSource, with the verbose statistics that carry the eta.
SYNCING_TEXT = """\
r0 node-id:0 role:Primary suspended:no force-io-failures:no
    write-ordering:flush
  volume:0 minor:0 disk:UpToDate backing_dev:/dev/vdb quorum:yes open:yes
      size:1048576 read:100 written:200 al-writes:1 bm-writes:0 upper-pending:0
      lower-pending:0 al-suspended:no blocked:no
  volume:1 minor:1 disk:UpToDate backing_dev:/dev/vdc quorum:yes open:yes
  db2 node-id:1 connection:Connected role:Secondary tls:no congested:no
      ap-in-flight:0 rs-in-flight:4096
    volume:0 replication:Established peer-disk:UpToDate resync-suspended:no
        received:0 sent:9 out-of-sync:0 pending:0 unacked:0
    volume:1 replication:SyncSource peer-disk:Inconsistent done:45.20
        resync-suspended:no
        received:0 sent:474112 out-of-sync:574464 pending:0 unacked:3 dbdt1:40.10
        eta:14

"""


def test_text_sync_progress_lines_give_percent_and_eta() -> None:
    (resource,) = parse_status_text(SYNCING_TEXT)
    assert [(v.volume, v.minor) for v in resource.volumes] == [(0, 0), (1, 1)]
    (peer,) = resource.peers
    established, syncing = peer.volumes
    assert (established.volume, established.resyncing, established.sync_percent) == (0, False, None)
    assert (syncing.volume, syncing.replication, syncing.peer_disk) == (
        1,
        "SyncSource",
        "Inconsistent",
    )
    assert (syncing.sync_percent, syncing.eta_seconds, syncing.out_of_sync_kib) == (
        45.2,
        14,
        574464,
    )


def test_text_eta_nan_is_unknown() -> None:
    text = SYNCING_TEXT.replace("eta:14", "eta:nan")
    (resource,) = parse_status_text(text)
    assert resource.peers[0].volumes[1].eta_seconds is None
    assert resource.peers[0].volumes[1].sync_percent == 45.2


def test_text_wrapped_device_line_continues_at_the_same_indent() -> None:
    # A lone volume is printed with indent 2 and wraps at 80 columns onto indent 2 again.
    text = "r0 role:Secondary\n  disk:Diskless client:no\n  quorum:no open:no\n  db1 role:Primary\n"
    (resource,) = parse_status_text(text)
    (volume,) = resource.volumes
    assert (volume.disk, volume.client, volume.quorum) == ("Diskless", False, False)
    assert [peer.name for peer in resource.peers] == ["db1"]


def test_text_standalone_suspended_and_several_resources() -> None:
    text = (
        "r0 role:Primary suspended:user,no-data\n  disk:UpToDate\n  db2 connection:StandAlone\n\n"
        "r1 role:Secondary\n  disk:Outdated\n  db2 connection:Connecting\n\n"
    )
    r0, r1 = parse_status_text(text)
    assert r0.suspended == ("user", "no-data")
    assert (r0.peers[0].connection, r0.peers[0].role, r0.peers[0].volumes) == (
        "StandAlone",
        "Unknown",
        (),
    )
    assert (r1.name, r1.volumes[0].disk, r1.peers[0].connection) == ("r1", "Outdated", "Connecting")


def test_text_colour_codes_and_nameless_peer() -> None:
    text = (
        "r0 role:\x1b[1mPrimary\x1b[0m\n"
        "  disk:\x1b[32mUpToDate\x1b[0m\n"
        "  node-id:2 role:Secondary\n"
    )
    (resource,) = parse_status_text(text)
    assert (resource.role, resource.volumes[0].disk) == ("Primary", "UpToDate")
    (peer,) = resource.peers
    assert (peer.name, peer.node_id, peer.label) == (None, 2, "peer node-id 2")


def test_text_no_resources_comment_is_empty() -> None:
    assert parse_status_text("# No currently configured DRBD found.\n") == ()
    assert parse_any("") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("  disk:UpToDate\n", "status line 1: indented line before any resource"),
        (
            "r0 role:Primary\n  disk:UpToDate fast\n",
            "status line 2: expected key:value, got 'fast'",
        ),
        ("r0 disk:UpToDate\n", "status line 1: resource r0 has no role:"),
        ("r0 role:Boss\n", "status line 1: role:Boss is not a DRBD role"),
        ("r0 role:Primary\n  volume:0 minor:x disk:UpToDate\n", "line 2: minor:x is not a whole"),
        ("r0 role:Primary\n    volume:0 peer-disk:UpToDate\n", "peer volume before any connection"),
        ("r0 role:Primary\n  volume:0 open:no\n", "status line 2: volume has no disk:"),
        ("r0 role:Primary role:Secondary\n", "status line 1: role given twice for one resource"),
        (
            "r0 role:Primary\n  db2 role:Primary\n  disk:UpToDate\n",
            "a volume after the connections",
        ),
        ("r:0 role:Primary\n", "expected a resource name, got 'r:0'"),
        (
            "r0 role:Primary\n  db2 role:Secondary\n    peer-disk:UpToDate done:x\n",
            "status line 3: done:x is not a number",
        ),
        ("r0 role:Primary\n  db2\n", "status line 2: connection db2 has no role:"),
    ],
)
def test_text_malformed_input_names_the_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_status_text(text)


def test_text_rejects_unrelated_output() -> None:
    with pytest.raises(ValueError, match="status line 1: expected a resource name"):
        parse_any("DRBDADM_BUILDTAG=GIT-hash:\\ 1234\nDRBDADM_API_VERSION=2\n")


# --- /proc/drbd


def test_proc_standalone_without_protocol_letter_and_unconfigured_minors() -> None:
    resources = parse_proc_drbd(fixture("proc-drbd-84.txt"))
    assert [r.minors for r in resources] == [(0,), (1,), (4,), (6,), (8,)]  # 2 is Unconfigured
    standalone = resources[-1]
    assert "StandAlone ro:Secondary/Unknown ds:UpToDate/DUnknown   r-----" in fixture(
        "proc-drbd-84.txt"
    )
    assert standalone.peers[0].connection == "StandAlone"
    assert standalone.peers[0].volumes[0].out_of_sync_kib == 1048320
    assert all(r.name is None and r.volumes[0].volume is None for r in resources)


def test_proc_sync_progress_lines() -> None:
    _, syncing = parse_proc_drbd(fixture("proc-drbd-84-sync.txt"))
    peer_volume = syncing.peers[0].volumes[0]
    assert (peer_volume.sync_percent, peer_volume.eta_seconds) == (68.5, 5)
    assert peer_volume.out_of_sync_kib == 335744


def test_proc_hours_of_eta_and_suspended_io() -> None:
    text = (
        "version: 8.4.11 (api:1/proto:86-101)\n"
        " 1: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C s---n-\n"
        "    ns:0 nr:1 dw:1 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:900\n"
        "\t[=>..................] sync'ed: 10.0% (900/1000)M\n"
        "\tfinish: 2:03:04 speed: 1,000 (1,000) want: 10,240 K/sec\n"
    )
    (resource,) = parse_proc_drbd(text)
    assert resource.suspended == ("unspecified",)
    peer_volume = resource.peers[0].volumes[0]
    assert (peer_volume.replication, peer_volume.sync_percent) == ("SyncTarget", 10.0)
    assert peer_volume.eta_seconds == 2 * 3600 + 3 * 60 + 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "/proc/drbd: empty"),
        ("hello\n", "/proc/drbd line 1: expected 'version: 8.4.x ...'"),
        (
            "version: 9.2.8 (api:2/proto:86-122)\n"
            "GIT-hash: e163b05a76254c0f51f999970e861d72bb16409a build by @buildsystem\n"
            "Transports (api:20): tcp (9.2.8)\n",
            "DRBD 9.2.8 shows only its version.*drbdsetup status --json",
        ),
        ("version: 7.0.1\n", "DRBD 7.x is not supported"),
        ("version: 8.4.2\n 0: cs:Connected ro:Primary/Secondary\n", "minor 0 has no ds:"),
        ("version: 8.4.2\n 0: cs:Connected ro:Primary ds:UpToDate/UpToDate\n", "not LOCAL/PEER"),
        ("version: 8.4.2\n 0: cs:Connected ro:Boss/Primary ds:X/Y\n", "roles Boss/Primary"),
        ("version: 8.4.2\n 0: cs:Connected junk ro:A/B\n", "line 2: unexpected 'junk'"),
        ("version: 8.4.2\n 0: cs:Unconfigured\nstray\n", "line 3: expected a device line"),
    ],
)
def test_proc_malformed_input(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_proc_drbd(text)


# --- choosing the configured resource


def test_find_resource_by_name_and_by_minor() -> None:
    proc = parse_any(fixture("proc-drbd-84.txt"))
    assert find_resource(proc, "minor:6") is proc[3]
    assert find_resource(proc, "/dev/drbd6") is proc[3]
    assert find_resource(proc, "drbd6") is proc[3]
    assert find_resource(proc, "minor:2") is None  # Unconfigured
    json_resources = parse_any(fixture("drbdsetup-status-9.json"))
    assert find_resource(json_resources, "some-resource") is json_resources[0]
    assert find_resource(json_resources, "minor:1000") is json_resources[0]
    assert find_resource(json_resources, "r0") is None


def test_find_resource_prefers_an_exact_name_over_a_minor_alias() -> None:
    text = (
        "drbd7 role:Primary\n  disk:UpToDate\n\n"
        "r9 role:Secondary\n  volume:0 minor:7 disk:UpToDate\n"
    )
    resources = parse_status_text(text)
    named, by_alias = resources
    assert by_alias.answers_to("drbd7")
    assert find_resource(resources, "drbd7") is named
