"""contrib/systemd: the units' sandboxing options are set, their command lines parse as drkit's
own options, and `systemd-analyze verify` accepts them without a single warning (where it exists:
`make units` installs it; without it that one test says so and skips)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from drkit.cli import cli

UNITS = Path(__file__).resolve().parents[2] / "contrib" / "systemd"
SERVICES = ("drkit-guard.service", "drkit-prune.service")
INSTALLED_DRKIT = "/opt/drkit/.venv/bin/drkit"


def _service(name: str) -> dict[str, list[str]]:
    """The [Service] section, every value of a repeated key kept in order."""
    values: dict[str, list[str]] = {}
    section = ""
    for raw in (UNITS / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section == "Service":
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


@pytest.mark.parametrize("name", SERVICES)
def test_units_are_sandboxed(name: str) -> None:
    service = _service(name)
    assert service["NoNewPrivileges"] == ["yes"]
    assert service["ProtectSystem"] == ["strict"]
    assert service["PrivateTmp"] == ["yes"]
    assert service["User"] == ["drkit"]  # never root
    # The state folder (config, index, guard state, audit log, engine lock) stays writable.
    state = service["WorkingDirectory"][0]
    assert state in service["ReadWritePaths"]
    assert Path(service["Environment"][0].partition("=")[2]).parent == Path(state)
    assert service["CapabilityBoundingSet"] == [""]


@pytest.mark.parametrize("name", SERVICES)
def test_unit_command_lines_are_drkit_options(name: str) -> None:
    argv = shlex.split(_service(name)["ExecStart"][0])
    assert argv[0] == INSTALLED_DRKIT
    command = cli.get_command(click.Context(cli), argv[1])
    assert command is not None
    command.make_context(argv[1], argv[2:])  # raises on an unknown or malformed option


def test_guard_unit_restarts_but_not_on_a_config_error() -> None:
    service = _service("drkit-guard.service")
    assert service["Restart"] == ["always"] and service["RestartPreventExitStatus"] == ["2"]
    assert service["KillMode"] == ["control-group"]


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    assert tool is not None, (
        "systemd-analyze is missing: `make test` installs it (.ci/ensure-servers)"
    )
    drkit = Path(sys.executable).parent / "drkit"
    assert drkit.exists(), "the drkit console script beside this Python"
    for unit in UNITS.iterdir():
        # verify checks that ExecStart exists: point it at this checkout's drkit.
        text = unit.read_text(encoding="utf-8").replace(INSTALLED_DRKIT, str(drkit))
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    names = sorted(str(p) for p in tmp_path.iterdir())
    assert len(names) == 3
    done = subprocess.run(
        [tool, "verify", *names], capture_output=True, text=True, timeout=60, check=False
    )
    # Unknown keys and bad values are only warnings (exit 0): none is accepted.
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_systemd_analyze_verify_would_catch_a_bad_option(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    assert tool is not None, (
        "systemd-analyze is missing: `make test` installs it (.ci/ensure-servers)"
    )
    drkit = Path(sys.executable).parent / "drkit"
    text = (UNITS / "drkit-guard.service").read_text(encoding="utf-8")
    bad = text.replace(INSTALLED_DRKIT, str(drkit)).replace(
        "NoNewPrivileges=yes", "NoNewPrivileges=maybe"
    )
    (tmp_path / "drkit-guard.service").write_text(bad, encoding="utf-8")
    done = subprocess.run(
        [tool, "verify", str(tmp_path / "drkit-guard.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "NoNewPrivileges" in done.stderr or "maybe" in done.stderr
