"""The console's layering: drkit runs without Textual, and the console holds no driver and no SQL."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import tui
from tests.unit.test_layering import ROOT, run_with_blocked

DRIVERS = {"mysql", "pymysql", "pymysqlreplication"}
# Statements and cursor calls that would mean the console talks to a server or the index itself.
SQL_MARKERS = (
    "SELECT ",
    "INSERT INTO",
    "START SLAVE",
    "STOP SLAVE",
    "CHANGE MASTER",
    "SET GLOBAL",
    "SHOW SLAVE",
    ".execute(",
    ".cursor(",
    "import sqlite3",
)


def all_tui_modules() -> list[str]:
    return ["tui", *(m.name for m in pkgutil.walk_packages(tui.__path__, prefix="tui."))]


def test_every_console_module_imports_without_a_driver() -> None:
    modules = all_tui_modules()
    assert "tui.app" in modules and "tui.screens.recovery" in modules
    done = run_with_blocked(DRIVERS, modules)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ok {len(modules)}"


def test_the_console_writes_no_sql() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {marker}"
        for path in (ROOT / "tui").rglob("*.py")
        for marker in SQL_MARKERS
        if marker in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_drkit_runs_without_textual_and_says_so_for_tui() -> None:
    """With textual unimportable, `drkit --help` works and `drkit tui` is one sentence, exit 2."""
    blocker = (
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'textual':\n"
        "            raise ImportError(f'blocked import of {name}')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from drkit.cli import main\n"
        "main(sys.argv[1:])\n"
    )

    def drkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", blocker, *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )

    helped = drkit("--help")
    assert helped.returncode == 0, helped.stderr
    assert "tui" in helped.stdout
    refused = drkit("tui")
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    assert refused.stderr.startswith("drkit: the console needs Textual")
