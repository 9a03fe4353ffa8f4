"""Secrets: scrubbed child environments, option text in memory only, redaction, no echoes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from drkit import config
from drkit.config import NodeConfig, PasswordSource, Role
from drkit.errors import ConfigError
from drkit.io import secrets
from drkit.io.optionfile import client_option_file, render
from drkit.io.secrets import child_environment, redact_statement


def node(password: str, **extra: object) -> NodeConfig:
    return NodeConfig(
        "primary",
        Role.PRIMARY,
        "127.0.0.1",
        13306,
        "drkit",
        PasswordSource(literal=password),
        **extra,  # type: ignore[arg-type]
    )


def test_child_environment_drops_password_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRKIT_PASSWORD", "s3cret")
    monkeypatch.setenv("MYSQL_PWD", "s3cret")
    monkeypatch.setenv("DB_PW_ODD_NAME", "another")
    monkeypatch.setenv("HOLDS_THE_VALUE", "by-value-only")
    monkeypatch.setenv("PWD", "/somewhere")
    monkeypatch.setenv("HARMLESS", "yes")
    secrets.note_password_variable("DB_PW_ODD_NAME")
    secrets.note_password("by-value-only")
    env = child_environment({"EXTRA": "1"})
    for name in ("DRKIT_PASSWORD", "MYSQL_PWD", "DB_PW_ODD_NAME", "HOLDS_THE_VALUE"):
        assert name not in env
    assert env["PWD"] == "/somewhere" and env["HARMLESS"] == "yes" and env["EXTRA"] == "1"


def test_a_loaded_config_marks_its_password_variable(tmp_path: Path) -> None:
    """The facade (and the CLI's context) note every password_env of the config they load."""
    from drkit.service import Drkit

    file = tmp_path / "drkit.toml"
    file.write_text(
        '[nodes.p]\nrole = "primary"\nhost = "h"\nport = 1\nuser = "u"\n'
        'password_env = "ODDLY_NAMED_VAR"\n'
    )
    Drkit(config.load(file))
    os.environ["ODDLY_NAMED_VAR"] = "x"
    try:
        assert "ODDLY_NAMED_VAR" not in child_environment()
    finally:
        del os.environ["ODDLY_NAMED_VAR"]


@pytest.mark.parametrize("value", ["12345678", "true", "1.5", "[1, 2]"])
def test_a_password_that_is_not_a_string_is_never_echoed(tmp_path: Path, value: str) -> None:
    file = tmp_path / "drkit.toml"
    file.write_text(
        f'[nodes.p]\nrole = "primary"\nhost = "h"\nport = 1\nuser = "u"\npassword = {value}\n'
    )
    with pytest.raises(ConfigError) as caught:
        config.load(file)
    assert "nodes.p.password" in caught.value.message
    assert value not in caught.value.message.replace(str(file), "")


@pytest.mark.parametrize("bad", ["zqx1\nvkw2", "zqx1\rvkw2", "zqx1\x00vkw2"])
def test_control_characters_in_a_password_are_refused_without_echo(bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        render(node(bad))
    text = caught.value.message + (caught.value.hint or "")
    assert "node primary" in text
    assert "zqx1" not in text and "vkw2" not in text


def test_quotes_and_backslashes_are_escaped() -> None:
    text = render(node("a\"b\\c'd # e"))
    assert 'password = "a\\"b\\\\c\'d # e"' in text
    assert text.count("\n") == 6  # no injected line


def test_option_text_lives_in_memory_and_a_child_reads_it(tmp_path: Path) -> None:
    temp = Path(tempfile.gettempdir())
    before = set(temp.glob("drkit-client-*"))
    with client_option_file(node('pa"ss')) as options:
        assert options.path == f"/dev/fd/{options.fd}"
        # Its mode keeps client tools from ignoring it as world-writable.
        assert os.fstat(options.fd).st_mode & 0o777 in (0o400, 0o600)
        read = subprocess.run(
            [sys.executable, "-c", f"print(open('{options.path}').read())"],
            pass_fds=options.pass_fds,
            capture_output=True,
            text=True,
            check=True,
        )
        # Not inherited by children that were not handed it.
        other = subprocess.run(
            [sys.executable, "-c", f"import os; print(os.path.exists('{options.path}'))"],
            capture_output=True,
            text=True,
            check=True,
        )
    assert 'password = "pa\\"ss"' in read.stdout
    assert other.stdout.strip() == "False"
    assert set(temp.glob("drkit-client-*")) == before
    with pytest.raises(OSError):
        os.fstat(options.fd)


@pytest.mark.parametrize(
    ("statement", "secret"),
    [
        ("CREATE USER 'a'@'%' IDENTIFIED BY 'se''cret1'", "cret1"),
        ('create user b identified with mysql_native_password by "x\\"y2"', "y2"),
        ("ALTER USER c IDENTIFIED BY 'new3' REPLACE 'old3'", "3"),
        ("GRANT ALL ON *.* TO d IDENTIFIED BY PASSWORD '*ABCDEF4'", "ABCDEF4"),
        ("CREATE USER e IDENTIFIED VIA ed25519 USING PASSWORD('p5')", "p5"),
        ("SET PASSWORD FOR 'f'@'%' = PASSWORD('p6')", "p6"),
        ("SET PASSWORD = 'p7'", "p7"),
        ("CHANGE MASTER TO MASTER_HOST='h', MASTER_PASSWORD='p8', MASTER_USER='u'", "p8"),
        ("CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD = 'p9'", "p9"),
        ("CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (USER 'u', PASSWORD 'p10')", "p10"),
        ("CREATE USER g IDENTIFIED BY 'cut-off-p11", "p11"),
    ],
)
def test_passwords_in_statements_are_redacted(statement: str, secret: str) -> None:
    shown = redact_statement(statement)
    assert secret not in shown
    assert "<redacted>" in shown


def test_redaction_leaves_other_statements_alone() -> None:
    for text in ("INSERT INTO t VALUES ('IDENTIFIED')", "DROP TABLE shop.orders", ""):
        assert redact_statement(text) == text
    assert redact_statement("CREATE USER 'a'@'h' IDENTIFIED BY 'x'").startswith(
        "CREATE USER 'a'@'h' IDENTIFIED BY "
    )


@pytest.mark.parametrize(
    "statement",
    [
        "create user h IdEnTiFiEd by 'p12'",  # the ASCII shortcut lower-cases
        "CREATE USER 'ünï' IDENTIFIED BY 'p12'",  # non-ASCII text: the regex decides alone
        "SET PA\u017f\u017fWORD = 'p12'",  # the long s folds to S for the regex, not for lower()
    ],
)
def test_the_cheap_look_for_password_words_misses_none(statement: str) -> None:
    assert "p12" not in redact_statement(statement)


def test_the_index_layout_keeps_no_password() -> None:
    from drkit.index.layout import lay_out

    scanned = (
        "0-1-5",
        "bin.000001",
        4,
        100,
        0.0,
        1,
        "ddl",
        (),
        ("CREATE USER 'app'@'%' IDENTIFIED BY 'hunter2'",),
        None,
        (),
    )
    rows, _, _ = lay_out([scanned], 1, [()])  # type: ignore[list-item]
    assert "hunter2" not in repr(rows)


def test_audit_records_name_the_os_user_and_host(tmp_path: Path) -> None:
    import json
    import pwd
    import socket

    from drkit.dialect.sql import Sql
    from drkit.io.audit import AuditLog

    log = AuditLog(tmp_path / "drkit-audit.jsonl", command="drkit freeze")
    log.statement(
        "delayed",
        Sql(
            "CREATE USER x IDENTIFIED BY 'pw9'", redacted="CREATE USER x IDENTIFIED BY '<redacted>'"
        ),
        True,
        0.1,
        None,
    )
    (record,) = [
        json.loads(line) for line in (tmp_path / "drkit-audit.jsonl").read_text().splitlines()
    ]
    assert record["os_user"].startswith(pwd.getpwuid(os.geteuid()).pw_name)
    assert record["host"] == socket.gethostname()
    assert "pw9" not in json.dumps(record)
    assert os.stat(tmp_path / "drkit-audit.jsonl").st_mode & 0o777 == 0o600
