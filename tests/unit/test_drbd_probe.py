"""The DRBD probe, run against a stand-in `drbdsetup` script that the test puts first on PATH."""

from __future__ import annotations

import json
import os
import shlex
import stat
from pathlib import Path

import pytest

from drkit.config import DrbdConfig
from drkit.io.drbd_probe import DrbdProbe, ProbeOutcome, probe, probe_all
from drkit.model.drbd_verdict import (
    HEALTHY,
    RESOURCE_MISSING,
    RESYNCING,
    SPLIT_BRAIN_RISK,
    STATE_UNKNOWN,
    Level,
)
from drkit.retry import Retry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "drbd"
JSON_COMMAND = ("drbdsetup", "status", "--json", "some-resource")


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder put first on PATH, for stand-in programs."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return folder


def stand_in(folder: Path, body: str, name: str = "drbdsetup") -> Path:
    """Write an executable shell script that records its arguments and then runs `body`."""
    script = folder / name
    args_file = folder / f"{name}.args"
    script.write_text(
        f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {shlex.quote(str(args_file))}\n{body}\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return args_file


def prints(fixture_name: str) -> str:
    return f"cat {shlex.quote(str(FIXTURES / fixture_name))}"


def test_healthy_json_output(bin_dir: Path) -> None:
    args_file = stand_in(bin_dir, prints("drbdsetup-status-9.json"))
    result = probe(DrbdConfig("some-resource", JSON_COMMAND))
    assert result.outcome is ProbeOutcome.OK
    assert args_file.read_text(encoding="utf-8").splitlines() == list(JSON_COMMAND[1:])
    assert result.target is not None
    assert result.target.peers[0].name == "some-peer"
    assert [(v.level, v.code) for v in result.verdicts()] == [(Level.OK, HEALTHY)]
    assert (result.exit_status, result.detail) == (0, "")


def test_to_json_carries_state_and_verdicts(bin_dir: Path) -> None:
    stand_in(bin_dir, prints("drbdsetup-status-9.json"))
    decoded = json.loads(json.dumps(probe(DrbdConfig("some-resource", JSON_COMMAND)).to_json()))
    assert decoded["outcome"] == "ok"
    assert decoded["ok"] is True
    assert decoded["level"] == "ok"
    assert decoded["command"] == list(JSON_COMMAND)
    assert [v["code"] for v in decoded["verdicts"]] == ["healthy"]
    assert decoded["resources"][0]["peers"][0]["volumes"][0]["peer_disk"] == "UpToDate"


def test_arguments_reach_the_program_unchanged_without_a_shell(bin_dir: Path) -> None:
    args_file = stand_in(bin_dir, prints("drbdsetup-status-9.txt"))
    hostile = "some-resource; touch pwned $(touch pwned2)"
    result = probe(DrbdConfig("some-resource", ("drbdsetup", "status", hostile)))
    assert result.ok
    assert args_file.read_text(encoding="utf-8").splitlines() == ["status", hostile]
    assert not (bin_dir / "pwned").exists() and not Path("pwned").exists()


STANDALONE_TEXT = "r0 role:Primary\n  disk:UpToDate\n  db2 connection:StandAlone\n\n"


def test_split_brain_from_status_text(bin_dir: Path) -> None:
    stand_in(bin_dir, f"printf '%s' {shlex.quote(STANDALONE_TEXT)}")
    result = probe(DrbdConfig("r0", ("drbdsetup", "status", "r0")))
    assert result.ok
    (verdict,) = result.verdicts()
    assert (verdict.level, verdict.code) == (Level.CRITICAL, SPLIT_BRAIN_RISK)
    assert "r0: the connection to peer db2 is StandAlone" in verdict.reason
    assert result.to_json()["level"] == "critical"


def test_split_brain_from_real_proc_drbd_by_minor(bin_dir: Path) -> None:
    stand_in(bin_dir, prints("proc-drbd-84-sync.txt"), name="read-proc-drbd")
    standalone = probe(DrbdConfig("minor:0", ("read-proc-drbd",)))
    syncing = probe(DrbdConfig("minor:5", ("read-proc-drbd",)))
    assert [v.code for v in standalone.verdicts()] == [SPLIT_BRAIN_RISK]
    assert [v.code for v in syncing.verdicts()] == [RESYNCING]
    assert "1048320 KiB out of sync" in standalone.verdicts()[0].reason


def test_output_without_the_configured_resource(bin_dir: Path) -> None:
    stand_in(bin_dir, prints("drbdadm-status-9-three-peers.txt"))
    result = probe(DrbdConfig("r0", ("drbdsetup", "status")))
    assert result.ok and result.target is None
    (verdict,) = result.verdicts()
    assert (verdict.level, verdict.code) == (Level.CRITICAL, RESOURCE_MISSING)
    assert "resource r0 is not in the DRBD output (resources seen: home)" in verdict.reason


def test_missing_command(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(bin_dir))  # nothing but the empty folder
    result = probe(DrbdConfig("r0", ("drbdsetup", "status", "--json", "r0")))
    assert result.outcome is ProbeOutcome.COMMAND_MISSING
    assert result.detail == "drbdsetup: not found on PATH"
    assert result.resources == () and result.target is None
    (verdict,) = result.verdicts()
    assert (verdict.level, verdict.code) == (Level.CRITICAL, STATE_UNKNOWN)
    assert verdict.reason == "DRBD state of r0 is unknown: drbdsetup: not found on PATH"


def test_missing_command_by_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "drbdsetup"
    result = probe(DrbdConfig("r0", (str(missing), "status")))
    assert result.outcome is ProbeOutcome.COMMAND_MISSING
    assert result.detail == f"{missing}: no such file"


def test_failing_command_reports_status_and_error_output(bin_dir: Path) -> None:
    # What drbdsetup does for a resource that is not up.
    stand_in(bin_dir, "echo 'r0: No such resource' >&2\nexit 10")
    result = probe(DrbdConfig("r0", ("drbdsetup", "status", "--json", "r0")))
    assert result.outcome is ProbeOutcome.FAILED
    assert (result.exit_status, result.stderr_tail) == (10, "r0: No such resource")
    assert (
        result.detail == "`drbdsetup status --json r0` exited with status 10: r0: No such resource"
    )
    assert [v.code for v in result.verdicts()] == [STATE_UNKNOWN]


def test_error_output_is_cut_to_its_tail(bin_dir: Path) -> None:
    stand_in(bin_dir, 'for i in 1 2 3 4 5 6 7 8 9; do echo "line $i" >&2; done\nexit 1')
    result = probe(DrbdConfig("r0", ("drbdsetup", "status")))
    assert result.stderr_tail.splitlines() == [f"line {i}" for i in range(5, 10)]
    assert result.detail.endswith("exited with status 1: line 9")


def test_command_killed_by_a_signal(bin_dir: Path) -> None:
    stand_in(bin_dir, "kill -9 $$")
    result = probe(DrbdConfig("r0", ("drbdsetup", "status")))
    assert result.outcome is ProbeOutcome.FAILED
    assert result.exit_status == -9
    assert "was killed by signal 9: no error output" in result.detail


def test_timeout_kills_the_command_and_its_children(bin_dir: Path) -> None:
    child_pid_file = bin_dir / "child.pid"
    stand_in(
        bin_dir,
        "echo 'connecting to the kernel' >&2\n"
        f"sleep 60 & echo $! > {shlex.quote(str(child_pid_file))}\nwait",
    )
    result = probe(DrbdConfig("r0", ("drbdsetup", "status"), timeout=0.5))
    assert result.outcome is ProbeOutcome.TIMED_OUT
    assert result.detail == "`drbdsetup status` did not finish within 0.5 s and was killed"
    assert result.stderr_tail == "connecting to the kernel"
    assert [v.code for v in result.verdicts()] == [STATE_UNKNOWN]
    child = Path("/proc") / child_pid_file.read_text(encoding="utf-8").strip() / "stat"

    # Gone, or at most a zombie waiting for init to reap it: either way no longer running. A
    # killed process closes its files a moment before it turns zombie, and the probe returns once
    # the pipes close: on a busy machine the state can still read R for that moment.
    def stopped() -> bool:
        return not child.exists() or child.read_text(encoding="utf-8").split(") ")[1][0] == "Z"

    assert Retry(0.01, timeout=5).until(stopped), (
        "the command's child still runs 5 s after the kill"
    )


def test_unparseable_output(bin_dir: Path) -> None:
    stand_in(bin_dir, "echo 'hello world'")
    result = probe(DrbdConfig("r0", ("drbdsetup", "status")))
    assert result.outcome is ProbeOutcome.UNPARSEABLE
    assert result.detail == (
        "cannot read the output of `drbdsetup status`: "
        "status line 1: expected key:value, got 'world'"
    )
    assert result.resources == ()


def test_program_that_cannot_be_executed(bin_dir: Path) -> None:
    script = bin_dir / "drbdsetup"
    script.write_text("#!/bin/sh\necho never\n", encoding="utf-8")
    script.chmod(0o644)
    result = probe(DrbdConfig("r0", (str(script), "status")))
    assert result.outcome is ProbeOutcome.FAILED
    assert result.detail == f"cannot run `{script} status`: Permission denied"
    assert result.exit_status is None


def test_probe_all_keeps_configuration_order(bin_dir: Path) -> None:
    stand_in(bin_dir, prints("drbdsetup-status-9.json"))
    results = probe_all(
        [
            DrbdConfig("some-resource", JSON_COMMAND),
            DrbdConfig("r1", ("drkit-test-absent-drbdadm", "status")),
        ]
    )
    assert [(r.resource, r.outcome) for r in results] == [
        ("some-resource", ProbeOutcome.OK),
        ("r1", ProbeOutcome.COMMAND_MISSING),
    ]
    assert all(isinstance(r, DrbdProbe) for r in results)
