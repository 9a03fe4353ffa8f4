"""The layering rules, checked: the core loads without textual, pure code loads without drivers.

The full layer order lives in pyproject.toml's import-linter contracts, which see imports made
inside functions too; these tests run it, and check at run time what it proves statically.
"""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import drkit

ROOT = Path(__file__).resolve().parents[2]

BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ImportError(f"blocked import of {name}")
        return None
sys.meta_path.insert(0, Block())
import importlib
for module in MODULES:
    importlib.import_module(module)
print("ok", len(MODULES))
"""

# Pure packages: values, dialects and decisions. Drivers and subprocess-heavy code stay in drkit.io.
PURE_PREFIXES = (
    "drkit.model",
    "drkit.dialect",
    "drkit.classify",
    "drkit.pitr.plan",
    "drkit.render",
    "drkit.checks.gtids",
    "drkit.checks.promotion",
    "drkit.checks.record",
    "drkit.checks.replication",
    "drkit.checks.result",
    "drkit.checks.grants",
    "drkit.promote.fates",
    "drkit.promote.plan",
    "drkit.extract.commands",
    "drkit.extract.plan",
    "drkit.asof.plan",
    "drkit.asof.rewind",
    "drkit.guard.rules",
    "drkit.guard.outcome",
    "drkit.guard.payload",
)


def all_core_modules() -> list[str]:
    found = ["drkit"]
    for info in pkgutil.walk_packages(drkit.__path__, prefix="drkit."):
        if info.name != "drkit.__main__":  # importing it runs the command
            found.append(info.name)
    return found


def run_with_blocked(blocked: set[str], modules: list[str]) -> subprocess.CompletedProcess[str]:
    script = f"BLOCKED = {sorted(blocked)!r}\nMODULES = {modules!r}\n" + BLOCKER
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_every_core_module_imports_without_textual() -> None:
    modules = all_core_modules()
    assert len(modules) > 20
    done = run_with_blocked({"textual", "tui", "rich"}, modules)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ok {len(modules)}"


def test_pure_modules_import_no_driver() -> None:
    modules = [m for m in all_core_modules() if m.startswith(PURE_PREFIXES)]
    assert any(m.startswith("drkit.model") for m in modules)
    done = run_with_blocked({"mysql", "pymysql", "pymysqlreplication", "drkit.io"}, modules)
    assert done.returncode == 0, done.stderr


def test_the_blocker_really_blocks() -> None:
    done = run_with_blocked({"textual"}, ["textual"])
    assert done.returncode != 0 and "blocked import of textual" in done.stderr


def test_the_blocker_blocks_a_subpackage_by_its_dotted_name() -> None:
    """`drkit.io` is blocked though `drkit` itself loads: the check compares whole dotted names."""
    done = run_with_blocked({"drkit.io"}, ["drkit.errors", "drkit.io.mysql"])
    assert done.returncode != 0 and "blocked import of drkit.io" in done.stderr
    allowed = run_with_blocked({"drkit.io"}, ["drkit.errors", "drkit.model.version"])
    assert allowed.returncode == 0, allowed.stderr


def test_import_linter_keeps_every_contract() -> None:
    """lint-imports with the contracts of pyproject.toml: the layer order, imports in functions too."""
    program = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert program is not None, "import-linter is a dev dependency: pip install -e '.[dev]'"
    done = subprocess.run(
        [program, "--no-cache"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout and "5 kept" in done.stdout, done.stdout


def test_sql_text_is_written_only_in_the_dialect() -> None:
    """Outside drkit/dialect no module spells out replication or admin statements."""
    offenders = []
    keywords = (
        "START SLAVE",
        "STOP SLAVE",
        "CHANGE MASTER",
        "START REPLICA",
        "STOP REPLICA",
        "SHOW SLAVE",
        "SET GLOBAL",
        "CREATE USER",
        "GRANT ",
    )
    for path in (ROOT / "drkit").rglob("*.py"):
        if "dialect" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.relative_to(ROOT)}: {k}" for k in keywords if k in text]
    assert offenders == []
