"""`drkit prune` and the archive line of `drkit status` in a new user's trial: a refused login
passed as exit 0 (everything kept), 27 KiB read "0.0 MiB", and times read "... UTC"."""

from __future__ import annotations

import json
import re
import time

import pytest

from drkit.render import size
from tests.support.sandbox import Sandbox
from tests.support.scenario import create_shop
from tests.support.workload import drkit_json

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.fixture(scope="module")
def box(module_box: Sandbox) -> Sandbox:
    with module_box.config_file.open("a", encoding="utf-8") as handle:
        handle.write('\n[retention]\nkeep = "1s"\n')
    create_shop(module_box, orders=20)
    assert module_box.drkit("index").returncode == 0
    time.sleep(1.5)  # everything indexed is older than keep
    return module_box


def _rows(box: Sandbox) -> int:
    done, events = drkit_json(box, "events", "--limit", "100000")
    assert done.returncode == 0, done.stderr
    return len(events)


@pytest.mark.parametrize("args", [("--dry-run",), ("--yes",)])
def test_a_refused_login_is_a_config_error_and_nothing_is_pruned(
    box: Sandbox, args: tuple[str, ...]
) -> None:
    text = box.config_file.read_text()
    start = text.index("password = ", text.index("[nodes.delayed]"))
    bad = box.config_file.parent / "bad.toml"
    bad.write_text(text[:start] + 'password = "wrong"' + text[text.index("\n", start) :])
    bad.chmod(0o600)
    rows = _rows(box)
    done = box.drkit("--config", str(bad), "prune", *args)
    assert done.returncode == 2, done.stdout
    first = done.stderr.splitlines()[0]
    assert first.startswith("drkit: delayed node delayed refused drkit's login ("), first
    assert first.endswith("): nothing was pruned"), first
    as_json = box.drkit("--config", str(bad), "prune", *args, "--json")
    error = json.loads(as_json.stdout)
    assert as_json.returncode == 2 and error["exit"] == 2 and "refused" in error["error"]
    assert _rows(box) == rows


def test_sizes_show_kib_and_times_the_iso_form(box: Sandbox) -> None:
    archive = box.config().index.archive_dir
    files = [p for p in archive.iterdir() if not p.name.startswith(".")]
    total = sum(p.stat().st_size for p in files)
    assert total < 1024 * 1024, "a small archive: the size must not read 0.0 MiB"
    status = box.drkit("status")
    line = next(x for x in status.stdout.splitlines() if x.startswith("ARCHIVE "))
    noun = "file" if len(files) == 1 else "files"
    assert f": {len(files)} {noun}, {size(total)}" in line, line
    assert "KiB" in size(total)

    plan = box.drkit("prune", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert re.match(rf"retention: keep 1s \(older than {ISO}\)\n", plan.stdout), plan.stdout
    assert " UTC" not in plan.stdout
