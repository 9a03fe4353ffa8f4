"""Defects found by a newcomer's trial run of the CLI, each checked on a real sandbox."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.sandbox import Sandbox
from tests.support.scenario import create_shop
from tests.support.workload import fingerprint


@pytest.fixture(scope="module")
def box(module_box: Sandbox) -> Sandbox:
    return module_box


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("freeze", "--bogus"), "No such option '--bogus'"),
        (("freeze", "extra"), "unexpected extra argument (extra)"),
        (("events", "--limit", "-1"), "Invalid value for '--limit'"),
        (("prune", "--keep", "1d"), "No such option '--keep'"),
        (("inspect", "-e", "SELECT 1"), "Missing option '--at'"),
        (("check", "nosuch"), "No such command 'nosuch'"),
    ],
)
def test_click_usage_errors_are_one_sentence_and_json_under_json(
    box: Sandbox, args: tuple[str, ...], said: str
) -> None:
    done = box.drkit(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    first, _, rest = done.stderr.partition("\n")
    assert first.startswith("drkit: ") and said in first, done.stderr
    assert rest.startswith("hint: see `drkit "), done.stderr
    assert "Traceback" not in done.stderr and "Usage:" not in done.stderr

    as_json = box.drkit(*args, "--json")
    assert as_json.returncode == 2
    error = json.loads(as_json.stdout)
    assert error["exit"] == 2 and said in error["error"]
    assert error["hint"].startswith("see `drkit ")
    # Nothing was changed: the delayed replica still applies.
    status = box.replica_status("delayed")
    assert status["Slave_SQL_Running"] == "Yes" and status["Slave_IO_Running"] == "Yes"


def test_merge_numbers_its_steps_as_its_plan_does(box: Sandbox) -> None:
    create_shop(box, orders=30)
    before = fingerprint(box, "primary", "shop.orders")
    box.sql("primary", "DELETE FROM shop.orders", app=True)
    box.sql("primary", "INSERT INTO shop.orders VALUES (31, 1, 5.00, 'late')", app=True)
    assert box.drkit("index").returncode == 0
    done = box.drkit("recover", "--before", "latest-destructive", "--yes")
    assert done.returncode == 0, done.stderr
    assert fingerprint(box, "delayed", "shop.orders") == before

    merged = box.drkit("extract", "--table", "shop.orders", "--merge", "--yes")
    assert merged.returncode == 0, merged.stderr
    numbers = [
        int(line.split(":")[0].removeprefix("step "))
        for line in merged.stderr.splitlines()
        if line.startswith("step ")
    ]
    assert numbers == [1, 2, 3, 4], merged.stderr
    assert box.value("primary", "SELECT COUNT(*) FROM shop.orders") == 31
    restored = "SELECT SUM(CRC32(CONCAT_WS('|', id, customer_id, total, note))) FROM shop.orders WHERE id <= 30"
    assert box.value("primary", restored) == box.value("delayed", restored)
    # Leave nothing destructive pending for the module's next tests: apply it all, named.
    _catch_up(box)


def _catch_up(box: Sandbox) -> None:
    """Roll the delayed replica through everything indexed, naming each destructive one."""
    assert box.drkit("index").returncode == 0
    listed = box.drkit("events", "--destructive", "--json")
    named = [a for e in json.loads(listed.stdout) for a in ("--through", str(e["id"]))]
    ended = box.drkit("resume", *named, "--yes")  # ends any recorded recovery and its target
    assert ended.returncode == 0, ended.stderr
    done = box.drkit("recover", "--until-time", "-0s", *named, "--yes")
    assert done.returncode == 0, done.stderr
    resumed = box.drkit("resume", "--yes")
    assert resumed.returncode == 0, resumed.stderr


def test_status_prints_the_recovery_time_to_the_second(box: Sandbox) -> None:
    box.sql(
        "primary",
        "CREATE DATABASE IF NOT EXISTS trial",
        "CREATE TABLE IF NOT EXISTS trial.t (id INT PRIMARY KEY)",
        app=True,
    )
    box.sql("primary", "INSERT INTO trial.t VALUES (1)", app=True)
    assert box.drkit("index").returncode == 0
    held = box.drkit(
        "inspect", "--at", "-0s", "-e", "SELECT COUNT(*) FROM trial.t", "--hold", "--yes"
    )
    assert held.returncode == 0, held.stderr
    assert box.value("delayed", "SELECT COUNT(*) FROM trial.t") == 1
    status = box.drkit("status")
    line = next(x for x in status.stdout.splitlines() if x.startswith("RECOVERY on delayed"))
    when = line.split(" at ", 1)[1].split(",", 1)[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", when), line
    resumed = box.drkit("resume", "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert box.replica_status("delayed")["Slave_SQL_Running"] == "Yes"


def test_inspect_counts_one_row_and_says_the_hold_once(box: Sandbox) -> None:
    box.sql("primary", "CREATE DATABASE IF NOT EXISTS trial", app=True)
    box.sql("primary", "CREATE TABLE IF NOT EXISTS trial.one (id INT PRIMARY KEY)", app=True)
    box.sql("primary", "INSERT INTO trial.one VALUES (1)", app=True)
    assert box.drkit("index").returncode == 0
    held = box.drkit("inspect", "--at", "-0s", "-e", "SELECT id FROM trial.one", "--hold", "--yes")
    assert held.returncode == 0, held.stderr
    assert "(1 row)" in held.stdout, held.stdout
    assert held.stdout.count("drkit resume") == 1, held.stdout
    assert box.value("delayed", "SELECT COUNT(*) FROM trial.one") == 1
    assert box.replica_status("delayed")["Slave_SQL_Running"] == "No"
    resumed = box.drkit("resume", "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert box.replica_status("delayed")["Slave_SQL_Running"] == "Yes"


def test_a_refused_resume_names_the_commands_that_take_its_way_out(box: Sandbox) -> None:
    box.sql("primary", "CREATE DATABASE IF NOT EXISTS trial", app=True)
    box.sql("primary", "CREATE TABLE IF NOT EXISTS trial.gone (id INT PRIMARY KEY)", app=True)
    box.sql("primary", "INSERT INTO trial.gone VALUES (1), (2)", app=True)
    assert box.drkit("index").returncode == 0
    assert box.drkit("recover", "--until-time", "-0s", "--yes").returncode == 0
    box.sql("primary", "DROP TABLE trial.gone", app=True)
    assert box.drkit("index").returncode == 0
    refused = box.drkit("resume", "--yes", "--json")
    assert refused.returncode == 3, refused.stderr
    error = json.loads(refused.stdout)
    (drop,) = error["destructive"]
    assert f"`drkit recover --before {drop}`" in error["hint"]
    assert f"`drkit recover --skip {drop}`" in error["hint"]
    assert f"--through {drop}" in error["hint"]
    # Nothing changed: still frozen, the table still there.
    assert box.replica_status("delayed")["Slave_SQL_Running"] == "No"
    assert box.value("delayed", "SELECT COUNT(*) FROM trial.gone") == 2
    _catch_up(box)


@pytest.mark.parametrize("wrong", ["primary", "delayed"])
@pytest.mark.parametrize("merge", [False, True])
def test_extract_with_a_refused_login_is_a_config_error(
    box: Sandbox, wrong: str, merge: bool
) -> None:
    box.sql("primary", "CREATE DATABASE IF NOT EXISTS trial", app=True)
    box.sql("primary", "CREATE TABLE IF NOT EXISTS trial.kept (id INT PRIMARY KEY)", app=True)
    box.sql("primary", "INSERT IGNORE INTO trial.kept VALUES (1), (2), (3)", app=True)
    assert box.drkit("index").returncode == 0
    assert box.drkit("recover", "--until-time", "-0s", "--yes").returncode == 0
    box.sql("primary", "DELETE FROM trial.kept WHERE id = 3", app=True)
    before = fingerprint(box, "primary", "trial.kept")
    text = box.config_file.read_text()
    section = text.index(f"[nodes.{wrong}]")
    start = text.index("password = ", section)
    end = text.index("\n", start)
    bad = box.config_file.parent / "bad.toml"
    bad.write_text(text[:start] + 'password = "wrong"' + text[end:])
    bad.chmod(0o600)
    args = [
        "extract",
        "--table",
        "trial.kept",
        *(["--merge"] if merge else ["--into", "trial.copy"]),
    ]
    done = box.drkit("--config", str(bad), *args, "--yes", "--json")  # the last --config wins
    assert done.returncode == 2, done.stderr
    error = json.loads(done.stdout)
    assert error["exit"] == 2 and f"{wrong} refused drkit's login" in error["error"]
    assert "promote" not in (error["hint"] or "")
    assert "Traceback" not in done.stderr
    # Nothing changed: the primary's table as it was, no copy, no staging table.
    assert fingerprint(box, "primary", "trial.kept") == before
    assert fingerprint(box, "primary", "trial.copy") is None
    assert fingerprint(box, "primary", "trial.kept_drkit_merge") is None
    assert box.drkit("resume", "--yes").returncode == 0


def test_flashback_sql_into_a_missing_folder_is_a_usage_error(box: Sandbox, tmp_path: Path) -> None:
    box.sql("primary", "CREATE DATABASE IF NOT EXISTS trial", app=True)
    box.sql("primary", "CREATE TABLE IF NOT EXISTS trial.fb (id INT PRIMARY KEY, v INT)", app=True)
    box.sql("primary", "INSERT INTO trial.fb VALUES (1, 1), (2, 2)", app=True)
    box.sql("primary", "UPDATE trial.fb SET v = v + 10", app=True)
    assert box.drkit("index").returncode == 0
    listed = box.drkit("events", "--table", "trial.fb", "--limit", "1", "--json")
    update = str(json.loads(listed.stdout)[0]["id"])
    before = fingerprint(box, "primary", "trial.fb")
    target = tmp_path / "no-such-folder" / "undo.sql"
    done = box.drkit("flashback", update, "--sql", str(target), "--json")
    assert done.returncode == 2, done.stderr
    error = json.loads(done.stdout)
    assert error["error"] == f"cannot write {target}: the folder {target.parent} does not exist"
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert not target.parent.exists()
    assert fingerprint(box, "primary", "trial.fb") == before
    written = box.drkit("flashback", update, "--sql", str(tmp_path / "undo.sql"))
    assert written.returncode == 0, written.stderr
    assert "UPDATE" in (tmp_path / "undo.sql").read_text()
    assert fingerprint(box, "primary", "trial.fb") == before


def test_a_window_that_ends_before_it_starts_is_a_usage_error(box: Sandbox) -> None:
    box.sql("primary", "CREATE DATABASE IF NOT EXISTS trial", app=True)
    box.sql("primary", "CREATE TABLE IF NOT EXISTS trial.win (id INT PRIMARY KEY, v INT)", app=True)
    box.sql("primary", "INSERT INTO trial.win VALUES (1, 1)", app=True)
    box.sql("primary", "UPDATE trial.win SET v = 2 WHERE id = 1", app=True)
    assert box.drkit("index").returncode == 0
    before = fingerprint(box, "primary", "trial.win")
    reversed_window = ("--since", "-1h", "--until", "-2h")
    for args in (
        ("events", "--table", "trial.win"),
        ("history", "--table", "trial.win", "--key", "id=1"),
        ("flashback", "--table", "trial.win", "--yes"),
    ):
        done = box.drkit(*args, *reversed_window, "--json")
        assert done.returncode == 2, (args, done.stderr)
        error = json.loads(done.stdout)
        assert "is after --until -2h" in error["error"] and "the window is empty" in error["error"]
    assert fingerprint(box, "primary", "trial.win") == before
    # The same commands with the window the right way round find the changes.
    found = box.drkit(
        "events", "--table", "trial.win", "--since", "-1h", "--until", "-0s", "--json"
    )
    assert found.returncode == 0 and len(json.loads(found.stdout)) == 3, (
        found.stderr
    )  # create, insert, update
    history = box.drkit(
        "history", "--table", "trial.win", "--key", "id=1", "--since", "-1h", "--json"
    )
    assert history.returncode == 0, history.stderr
    assert [v["operation"] for v in json.loads(history.stdout)["versions"]] == ["insert", "update"]


def test_sandbox_up_on_a_running_sandbox_refuses_options_it_would_ignore(box: Sandbox) -> None:
    directory = str(box.directory)
    done = box.drkit("sandbox", "up", "--dir", directory, "--delay", "10", "--json")
    assert done.returncode == 2, done.stderr
    error = json.loads(done.stdout)
    assert error["error"].startswith(f"the sandbox in {directory} was made with --delay 3600")
    assert "--purge" in error["hint"]
    tls = box.drkit("sandbox", "up", "--dir", directory, "--tls")
    assert tls.returncode == 2 and "made without --tls" in tls.stderr, tls.stderr
    # Nothing changed: the delayed replica still runs an hour behind, unencrypted.
    assert int(box.replica_status("delayed")["SQL_Delay"]) == 3600
    assert not (box.directory / "tls").exists()
    same = box.drkit("sandbox", "up", "--dir", directory, "--delay", "3600", "--json")
    assert same.returncode == 0 and json.loads(same.stdout)["already_running"] is True


def test_freeze_counts_what_is_pending_in_words_that_agree(box: Sandbox) -> None:
    _catch_up(box)
    box.sql("primary", "CREATE DATABASE IF NOT EXISTS trial", app=True)
    box.sql("primary", "CREATE TABLE IF NOT EXISTS trial.fz (id INT PRIMARY KEY)", app=True)
    _catch_up(box)
    box.sql("primary", "INSERT INTO trial.fz VALUES (1)", app=True)
    assert box.drkit("index").returncode == 0
    frozen = box.drkit("freeze")
    assert frozen.returncode == 0, frozen.stderr
    assert "\n1 indexed transaction is not applied yet\n" in frozen.stdout, frozen.stdout
    assert "restores delayed's configured delay" in frozen.stdout
    assert box.replica_status("delayed")["Slave_SQL_Running"] == "No"
    assert box.value("delayed", "SELECT COUNT(*) FROM trial.fz") == 0
    assert box.drkit("resume", "--yes").returncode == 0


def test_an_unconfirmed_flashback_reads_as_one_sentence_and_changes_nothing(box: Sandbox) -> None:
    box.sql("primary", "CREATE DATABASE IF NOT EXISTS trial", app=True)
    box.sql("primary", "CREATE TABLE IF NOT EXISTS trial.nc (id INT PRIMARY KEY, v INT)", app=True)
    box.sql("primary", "INSERT INTO trial.nc VALUES (1, 1)", app=True)
    box.sql("primary", "UPDATE trial.nc SET v = 5 WHERE id = 1", app=True)
    assert box.drkit("index").returncode == 0
    listed = box.drkit("events", "--table", "trial.nc", "--limit", "1", "--json")
    update = str(json.loads(listed.stdout)[0]["id"])
    done = box.drkit("flashback", update, input="")
    assert done.returncode == 3, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        "drkit: Reverse 1 row change on primary (one transaction): not confirmed (stdin is not "
        "a terminal; pass --yes to proceed); nothing was changed"
    ), done.stderr
    assert box.value("primary", "SELECT v FROM trial.nc WHERE id = 1") == 5
