"""A damaged index on a real sandbox (a page in the middle of index.db overwritten, as a failing
disk leaves it): status still shows every server and marks the index damaged, events says so in
one sentence, `drkit index --rebuild` is refused while `index --follow` writes the archive and
otherwise builds, without the primary, the very index a fresh `drkit index` builds. And a refused
login is exit 2 for `drkit index` and `drkit guard`, where a primary that does not answer is 1."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from drkit.io.archive import holder
from tests.support.damage import corrupt_middle_page, index_content
from tests.support.indexing import following, index_starts, primary_starts
from tests.support.sandbox import Sandbox, start_sandbox, wait_for

pytestmark = pytest.mark.integration

FILL = """
CREATE PROCEDURE w.fill(IN rounds INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  WHILE i < rounds DO
    INSERT INTO w.t (v, note) VALUES (i, CONCAT('row number ', i, ' of the damage workload'));
    SET i = i + 1;
  END WHILE;
END
"""
TRANSACTIONS = 3000


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("index-damage"), delay=3600)
    try:
        sandbox.sql(
            "primary",
            "CREATE DATABASE w",
            "CREATE TABLE w.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT NOT NULL, note TEXT)",
            FILL,
            f"CALL w.fill({TRANSACTIONS})",
            "DELETE FROM w.t",  # a destructive finding among them
        )
        yield sandbox
    finally:
        sandbox.down(purge=True)


def config_copy(box: Sandbox, name: str, **replace: str) -> Path:
    """A copy of the sandbox's config with its own index and archive, and `replace` applied."""
    text = box.config_file.read_text()
    text = text.replace('path = "index.db"', f'path = "{name}.db"')
    text = text.replace('archive_dir = "binlogs"', f'archive_dir = "{name}-binlogs"')
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path = box.directory / f"{name}.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def quick_check(index: Path) -> str:
    conn = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA quick_check").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()


def test_a_damaged_index_is_reported_then_rebuilt_from_the_archive(
    box: Sandbox, tmp_path: Path
) -> None:
    config = box.config()
    index = config.index.path
    done = box.drkit("index", "--json")
    assert done.returncode == 0, done.stderr
    indexed = json.loads(done.stdout)
    assert indexed["new"] == indexed["total"] >= TRANSACTIONS and indexed["checkpoint"]
    healthy = box.drkit("status", "--json")
    assert healthy.returncode == 0, healthy.stderr
    assert json.loads(healthy.stdout)["index"]["damaged"] is False
    expected = index_content(index)
    assert len(expected["transactions"]) >= TRANSACTIONS
    assert [(g, f, p) for g, f, p in index_starts(index)] == primary_starts(box)

    page = corrupt_middle_page(index)
    pages = index.stat().st_size // 4096
    assert pages // 4 < page < pages * 3 // 4 + 8, (page, pages)  # in the middle of the file
    assert quick_check(index) != "ok"

    # status: every server still listed, the index marked damaged with the way out, same exit.
    text = box.drkit("status")
    assert text.returncode == healthy.returncode, text.stderr
    for name in config.nodes:
        assert re.search(rf"^{name}\s+\S+\s+up\b", text.stdout, re.MULTILINE), text.stdout
    assert f"INDEX DAMAGED: the index {index} is damaged" in text.stdout
    assert "drkit index --rebuild" in text.stdout
    assert "internal error" not in text.stdout + text.stderr
    as_json = box.drkit("status", "--json")
    assert as_json.returncode == healthy.returncode, as_json.stderr
    report = json.loads(as_json.stdout)
    assert [n["name"] for n in report["nodes"]] == list(config.nodes)
    assert all(n["reachable"] for n in report["nodes"])
    assert report["index"]["damaged"] is True
    assert "drkit index --rebuild" in report["index"]["hint"]

    # events that read the damaged page: one sentence naming the file and the way out.
    events = box.drkit("events", "--limit", "100000")
    assert events.returncode == 1
    assert events.stdout == ""
    assert events.stderr.splitlines()[0] == (
        f"drkit: the index {index} is damaged (database disk image is malformed)"
    )
    assert (
        events.stderr.splitlines()[1].startswith("hint: ") and len(events.stderr.splitlines()) == 2
    )
    assert "Traceback" not in events.stderr and "internal error" not in events.stderr

    # Refused while `index --follow` writes the archive: exit 3, the holder named, nothing moved.
    with following(box, tmp_path / "follow.log") as follower:
        wait_for(
            lambda: holder(config.index.archive_dir) == follower.pid,
            what="the follower to hold the archive",
        )
        refused = box.drkit("index", "--rebuild", "--yes")
        assert refused.returncode == 3, refused.stderr
        assert f"is being written by pid {follower.pid}" in refused.stderr
        assert follower.poll() is None
    assert not [p for p in index.parent.iterdir() if "rebuild" in p.name]
    assert quick_check(index) != "ok"

    # A fresh index of the same binlogs, built the normal way (its own archive) for comparison.
    fresh = config_copy(box, "fresh")
    done = box.drkit("--config", str(fresh), "index")
    assert done.returncode == 0, done.stderr

    # The rebuild, with the primary down: the same index as a fresh build, the old one kept.
    damaged = sha(index)
    box.kill("primary")
    try:
        dry = box.drkit("index", "--rebuild", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "the primary is not contacted" in dry.stdout and "damaged:" in dry.stdout
        assert sha(index) == damaged
        rebuilt = box.drkit("index", "--rebuild", "--yes")
        assert rebuilt.returncode == 0, rebuilt.stderr
    finally:
        box.start("primary")
    aside = Path(re.findall(r"previous index moved aside to (\S+)", rebuilt.stdout)[0])
    assert aside.parent == index.parent and aside.name.startswith("index.db.before-rebuild-")
    assert sha(aside) == damaged  # moved, never deleted nor changed
    assert quick_check(index) == "ok"

    rebuilt_content = index_content(index)
    fresh_content = index_content(box.directory / "fresh.db")
    tables = (
        "transactions",
        "transaction_tables",
        "findings",
        "checkpoint",
        "meta",
        "user_version",
    )
    for table in tables:
        assert rebuilt_content[table] == fresh_content[table], table
    assert rebuilt_content == expected  # nothing was written since the first build
    assert {row[13] for row in rebuilt_content["transactions"]} - {None}  # the DELETE's finding

    after = box.drkit("status", "--json")
    assert after.returncode == healthy.returncode
    summary = json.loads(after.stdout)["index"]
    assert summary["damaged"] is False and summary["transactions"] == len(expected["transactions"])
    # And indexing goes on from the rebuilt checkpoint.
    box.sql("primary", "INSERT INTO w.t (v) VALUES (-1)")
    more = box.drkit("index")
    assert more.returncode == 0, more.stderr
    assert index_starts(index) == primary_starts(box)


def test_a_refused_login_is_exit_2_for_index_and_guard(box: Sandbox, tmp_path: Path) -> None:
    password = re.search(
        r'\[nodes\.primary\][^\[]*?password = ("[^"]*")', box.config_file.read_text()
    )
    assert password is not None
    wrong = config_copy(
        box,
        "wrong",
        **{f"password = {password.group(1)}": 'password = "not-the-password"'},
    )
    for args in (["index"], ["index", "--follow"], ["guard", "--once"], ["guard"]):
        run = box.drkit("--config", str(wrong), *args, timeout=60)
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        first, *rest = run.stderr.strip().splitlines()[-2:]
        assert "node primary (127.0.0.1:" in first and "login refused for user 'drkit'" in first
        assert rest and rest[0].startswith("hint: check the password (password in the config")
        assert "not-the-password" not in run.stdout + run.stderr
        assert "retrying" not in run.stderr
    assert (
        not (box.directory / "wrong.db").exists() or index_starts(box.directory / "wrong.db") == []
    )

    unset = config_copy(
        box, "unset", **{f"password = {password.group(1)}": 'password_env = "DRKIT_TEST_UNSET_PW"'}
    )
    for args in (["index"], ["index", "--follow"], ["guard"]):
        run = box.drkit("--config", str(unset), *args, timeout=60)
        assert run.returncode == 2, (args, run.stderr)
        assert "DRKIT_TEST_UNSET_PW (password_env) is not set" in run.stderr

    # A primary that does not answer stays exit 1: it may come back.
    port = box.port("primary")
    gone = config_copy(box, "gone", **{f"port = {port}": "port = 9"})
    run = box.drkit("--config", str(gone), "index", timeout=60)
    assert run.returncode == 1, run.stderr
    assert "unreachable" in run.stderr
