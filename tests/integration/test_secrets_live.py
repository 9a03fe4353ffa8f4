"""No password escapes: children's environments and argv, temp files after kill -9, the index.

Every server tool drkit starts runs through a recording wrapper placed first on PATH; the guard's
alert command records itself too; /proc is scanned for everything the guard started while it runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import sys
from pathlib import Path

import pytest

from tests.support.guard import GuardProcess, audit_records, set_guard_config
from tests.support.sandbox import Sandbox, wait_for
from tests.support.scenario import create_shop, drkit_json

VARIABLE = "DRKIT_LEAK_TEST_SECRET"
TOOLS = ("mariadb", "mariadb-binlog", "mariadb-dump")
OTHER_SECRET = "Zx9-other-account-secret"


@pytest.fixture(scope="module")
def box(module_box: Sandbox) -> Sandbox:
    return module_box


def test_no_password_reaches_children_disk_or_index(
    box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = box.state.tool_account.password
    assert len(secret) >= 8
    records = tmp_path / "records"
    records.mkdir()
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    wrappers = _wrappers(tmp_path / "bin", records)
    # The config names a variable; the variable, and MYSQL_PWD, hold the password.
    text = box.config_file.read_text(encoding="utf-8")
    box.config_file.write_text(
        text.replace(f"password = {json.dumps(secret)}", f'password_env = "{VARIABLE}"'),
        encoding="utf-8",
    )
    assert secret not in box.config_file.read_text(encoding="utf-8")
    alert_code = (
        "import os, sys; "
        f"open({str(records / 'alert.environ')!r}, 'wb').write(open('/proc/self/environ', 'rb').read()); "
        f"open({str(records / 'alert.cmdline')!r}, 'wb').write(open('/proc/self/cmdline', 'rb').read()); "
        "sys.stdin.read()"
    )
    set_guard_config(
        box,
        f'[alerts]\ncommands = [[{json.dumps(sys.executable)}, "-c", {json.dumps(alert_code)}]]\n',
    )
    monkeypatch.setenv(VARIABLE, secret)
    monkeypatch.setenv("MYSQL_PWD", secret)
    monkeypatch.setenv("PATH", f"{wrappers}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    create_shop(box)

    seen: dict[int, tuple[bytes, bytes]] = {}
    guard = GuardProcess(box, tmp_path / "guard.log")
    try:
        guard.wait_ready()
        _scan_descendants(guard.pid, seen)
        box.sql("primary", f"CREATE USER 'leak'@'%' IDENTIFIED BY '{OTHER_SECRET}'")
        box.sql("primary", "DROP TABLE shop.orders", app=True)
        wait_for((records / "alert.environ").exists, timeout=30, what="the alert command")
        _scan_descendants(guard.pid, seen)
        # kill -9 of drkit alone: its copier dies with it, and no secret is left in TMPDIR.
        os.kill(guard.pid, signal.SIGKILL)
        guard.process.wait(timeout=10)
    finally:
        guard.crash()
    assert len(seen) >= 1, "the guard's binlog copier was seen"
    for pid, (environ, cmdline) in seen.items():
        assert secret.encode() not in environ + cmdline, f"pid {pid}: {cmdline!r}"
        assert VARIABLE.encode() not in environ and b"MYSQL_PWD" not in environ
    _assert_clean_tree(private_tmp, secret)
    alert_env = (records / "alert.environ").read_bytes()
    assert secret.encode() not in alert_env and VARIABLE.encode() not in alert_env
    assert b"PATH=" in alert_env  # a scrubbed environment, not an empty one

    # The index, events, the audit log and the state files: no password, private modes.
    box.drkit("index")
    events = box.drkit("events", "--json", "--limit", "50")
    assert events.returncode == 0, events.stderr
    assert "CREATE USER" in events.stdout and OTHER_SECRET not in events.stdout
    for name in ("index.db", "drkit-audit.jsonl", "drkit-guard.json"):
        path = box.directory / name
        data = path.read_bytes()
        assert OTHER_SECRET.encode() not in data and secret.encode() not in data, name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    audit = audit_records(box, "sql")
    assert audit and all(r.get("os_user") and r.get("host") for r in audit)

    # Recovery and extract start the dump tool and the client: through their wrappers.
    done, _report = drkit_json(box, "recover", "--before", "latest-destructive", "--yes")
    assert done.returncode == 0, done.stderr
    copied = box.drkit(
        "extract", "--table", "shop.orders", "--into", "shop.orders_back", "--yes", "--json"
    )
    assert copied.returncode == 0, copied.stderr
    ran = sorted(
        p.name.split(".")[0] for p in records.glob("*.cmdline") if p.name != "alert.cmdline"
    )
    assert {"mariadb", "mariadb-binlog", "mariadb-dump"} <= set(ran), ran
    for path in records.iterdir():
        data = path.read_bytes()
        assert secret.encode() not in data, path.name
        if path.suffix == ".environ":
            assert VARIABLE.encode() not in data and b"MYSQL_PWD" not in data, path.name
        if path.suffix == ".cmdline" and path.name != "alert.cmdline":
            assert b"--defaults-extra-file=/dev/fd/" in data, path.name
    _assert_clean_tree(private_tmp, secret)


def _wrappers(folder: Path, records: Path) -> Path:
    """Scripts named like the server's tools that record environ and argv, then exec the tool."""
    folder.mkdir()
    for tool in TOOLS:
        real = shutil.which(tool)
        assert real, f"{tool} is not installed"
        script = folder / tool
        script.write_text(
            "#!/bin/sh\n"
            f"cat /proc/$$/environ > '{records}/{tool}.'$$'.environ'\n"
            f"printf '%s\\0' \"$0\" \"$@\" > '{records}/{tool}.'$$'.cmdline'\n"
            f'exec {real} "$@"\n',
            encoding="utf-8",
        )
        script.chmod(0o755)
    return folder


def _scan_descendants(root: int, seen: dict[int, tuple[bytes, bytes]]) -> None:
    """Record environ and cmdline of every live process descended from `root`."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    for pid in parents:
        ancestor = parents.get(pid)
        while ancestor and ancestor != root:
            ancestor = parents.get(ancestor)
        if ancestor == root:
            try:
                seen[pid] = (
                    Path(f"/proc/{pid}/environ").read_bytes(),
                    Path(f"/proc/{pid}/cmdline").read_bytes(),
                )
            except OSError:
                continue


def _assert_clean_tree(folder: Path, secret: str) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), f"{path} holds the password"
