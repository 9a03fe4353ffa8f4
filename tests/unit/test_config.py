"""drkit.toml validation: good files load, each kind of bad file gives one clear sentence."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from drkit import config
from drkit.config import Role
from drkit.errors import ConfigError, ExitCode

GOOD = """
[index]
path = "state/index.db"
archive_dir = "/var/lib/drkit/binlogs"

[nodes.primary]
role = "primary"
host = "10.0.0.1"
port = 3306
user = "drkit"
password_env = "DRKIT_TEST_PASSWORD"

[nodes.replica]
role = "replica"
host = "10.0.0.2"
port = 3306
user = "drkit"
password_file = "secret.txt"

[nodes.delayed]
role = "delayed"
host = "10.0.0.3"
port = 3307
user = "drkit"
password = "sandbox-only"
delay = 3600
relay_log_dir = "relay"

[[drbd]]
resource = "r0"
command = ["ssh", "db1", "drbdsetup", "status", "--json", "r0"]

[[drbd]]
resource = "r1"

[loadbalancer]
kind = "haproxy"
socket = "/run/haproxy/admin.sock"
backend = "mysql_primary"
servers = { primary = "db1", delayed = "db3" }

[classify]
mass_rows = 500
ignore_tables = ["tmp.*"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "drkit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_loads_into_values(tmp_path: Path) -> None:
    loaded = config.load(write(tmp_path, GOOD))
    assert list(loaded.nodes) == ["primary", "replica", "delayed"]
    assert loaded.require_primary().host == "10.0.0.1"
    delayed = loaded.require_delayed()
    assert delayed.role is Role.DELAYED and delayed.delay == 3600 and delayed.port == 3307
    assert delayed.relay_log_dir == tmp_path.resolve() / "relay"
    assert loaded.index.path == tmp_path.resolve() / "state" / "index.db"
    assert loaded.index.archive_dir == Path("/var/lib/drkit/binlogs")
    assert loaded.drbd[0].command == ("ssh", "db1", "drbdsetup", "status", "--json", "r0")
    assert loaded.drbd[1].command == ("drbdsetup", "status", "--json", "r1")
    assert loaded.loadbalancer is not None
    assert dict(loaded.loadbalancer.servers) == {"primary": "db1", "delayed": "db3"}
    assert loaded.classify.mass_rows == 500 and loaded.classify.ignore_tables == ("tmp.*",)


def test_defaults_when_index_section_is_absent(tmp_path: Path) -> None:
    text = GOOD.split("[nodes.primary]")[1]
    loaded = config.load(write(tmp_path, "[nodes.primary]" + text))
    assert loaded.index.path == tmp_path.resolve() / "index.db"
    assert loaded.index.archive_dir == tmp_path.resolve() / "binlogs"
    assert loaded.index.writer_process and loaded.index.writer_process_mb == 32


def test_writer_process_settings(tmp_path: Path) -> None:
    text = GOOD.replace(
        'path = "state/index.db"',
        'path = "state/index.db"\nwriter_process = false\nwriter_process_mb = 0.5',
    )
    loaded = config.load(write(tmp_path, text))
    assert loaded.index.writer_process is False
    assert loaded.index.writer_process_mb == 0.5


def test_password_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secret.txt").write_text("from-file\n", encoding="utf-8")
    monkeypatch.setenv("DRKIT_TEST_PASSWORD", "from-env")
    loaded = config.load(write(tmp_path, GOOD))
    assert loaded.node("primary").password.resolve() == "from-env"
    assert loaded.node("replica").password.resolve() == "from-file"
    assert loaded.node("delayed").password.resolve() == "sandbox-only"


def test_secrets_stay_out_of_reprs_and_descriptions(tmp_path: Path) -> None:
    loaded = config.load(write(tmp_path, GOOD))
    node = loaded.node("delayed")
    assert "sandbox-only" not in repr(node)
    assert "sandbox-only" not in repr(loaded)
    assert node.password.describe() == "password in the config file"


def test_unset_password_env_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DRKIT_TEST_PASSWORD", raising=False)
    loaded = config.load(write(tmp_path, GOOD))
    with pytest.raises(ConfigError, match="DRKIT_TEST_PASSWORD"):
        loaded.node("primary").password.resolve()


BAD_CASES = [
    ("missing key", ("port = 3307\n", ""), "nodes.delayed.port: missing (required)"),
    (
        "wrong type",
        ("port = 3307", 'port = "3307"'),
        "nodes.delayed.port: expected an integer, got the string '3307'",
    ),
    (
        "bool for int",
        ("port = 3307", "port = true"),
        "nodes.delayed.port: expected an integer, got true",
    ),
    ("bad port", ("port = 3307", "port = 70000"), "nodes.delayed.port: 70000 is not a TCP port"),
    (
        "unknown role",
        ('role = "delayed"', 'role = "standby"'),
        "nodes.delayed.role: unknown role 'standby'",
    ),
    (
        "two primaries",
        ('role = "replica"', 'role = "primary"'),
        'two nodes have role = "primary" (primary, replica)',
    ),
    (
        "unknown lb node",
        ('delayed = "db3" }', 'standby = "db3" }'),
        "loadbalancer.servers.standby: no node named 'standby'",
    ),
    (
        "unknown key",
        ("delay = 3600", 'delay = 3600\npasword = "x"'),
        "nodes.delayed.pasword: unknown key",
    ),
    ("unknown section", ("[classify]", "[clasify]"), "clasify: unknown key"),
    (
        "two password sources",
        ('password = "sandbox-only"', 'password = "a"\npassword_env = "B"'),
        "give only one of password_env, password_file, password",
    ),
    (
        "delayed without delay",
        ("delay = 3600\n", ""),
        "nodes.delayed.delay: a delayed node needs `delay`",
    ),
    (
        "delay misspelt",  # issue 18 item 15: the typo is named, not a missing delay
        ("delay = 3600", "dealy = 3600"),
        "nodes.delayed.dealy: unknown key (did you mean 'delay'?)",
    ),
    (
        "port misspelt",
        ("port = 3307", "prot = 3307"),
        "nodes.delayed.prot: unknown key (did you mean 'port'?)",
    ),
    (
        "optional key misspelt",
        ('path = "state/index.db"', 'path = "state/index.db"\narchive_dri = "b"'),
        "index.archive_dri: unknown key (did you mean 'archive_dir'?)",
    ),
    (
        "negative delay",
        ("delay = 3600", "delay = -5"),
        "nodes.delayed.delay: must be zero or more seconds",
    ),
    ("empty host", ('host = "10.0.0.3"', 'host = ""'), "nodes.delayed.host: must not be empty"),
    (
        "lb kind",
        ('kind = "haproxy"', 'kind = "nginx"'),
        "loadbalancer.kind: unknown load balancer 'nginx'",
    ),
    (
        "drbd without resource",
        ('resource = "r1"', 'command = ["x"]'),
        "drbd[1].resource: missing (required)",
    ),
    ("mass rows", ("mass_rows = 500", "mass_rows = 0"), "classify.mass_rows: must be at least 1"),
    (
        "writer process threshold",
        ('path = "state/index.db"', 'path = "state/index.db"\nwriter_process_mb = 0'),
        "index.writer_process_mb: must be more than zero",
    ),
    (
        "writer process switch",
        ('path = "state/index.db"', 'path = "state/index.db"\nwriter_process = "no"'),
        "index.writer_process: expected",
    ),
]


@pytest.mark.parametrize(("case", "edit", "expected"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_file_names_file_key_and_problem(
    tmp_path: Path, case: str, edit: tuple[str, str], expected: str
) -> None:
    old, new = edit
    text = GOOD
    if case in {
        "missing key",
        "delayed without delay",
        "delay misspelt",
        "port misspelt",
        "wrong type",
        "bool for int",
        "bad port",
        "unknown role",
        "negative delay",
        "empty host",
    }:
        # Apply the edit inside the [nodes.delayed] section only.
        head, tail = text.split("[nodes.delayed]")
        text = head + "[nodes.delayed]" + tail.replace(old, new, 1)
    elif case == "two primaries":
        head, tail = text.split("[nodes.replica]")
        text = head + "[nodes.replica]" + tail.replace(old, new, 1)
    else:
        assert old in text
        text = text.replace(old, new, 1)
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        config.load(path)
    message = str(raised.value)
    assert message.startswith(f"{path.resolve()}: "), message
    assert expected in message
    assert raised.value.exit_code is ExitCode.USAGE


def test_not_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "[nodes.primary\nrole = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config.load(path)


def test_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        config.load(tmp_path / "nope.toml")
    assert "no such config file" in str(raised.value)
    assert raised.value.hint and "drkit sandbox up" in raised.value.hint


def test_no_nodes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nodes: missing"):
        config.load(write(tmp_path, "[index]\npath = 'x.db'\n"))


def test_locate_prefers_flag_then_env_then_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DRKIT_CONFIG", raising=False)
    assert config.locate(None) == tmp_path / "drkit.toml"
    monkeypatch.setenv("DRKIT_CONFIG", "/etc/drkit/a.toml")
    assert config.locate(None) == Path("/etc/drkit/a.toml")
    assert config.locate("b.toml") == Path("b.toml")


def test_cli_reports_config_errors_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('role = "delayed"', 'role = "standby"'))
    env = {**os.environ, "DRKIT_CONFIG": str(path)}
    env.pop("DRKIT_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "drkit", "status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "nodes.delayed.role: unknown role 'standby'" in done.stderr
    assert done.stdout == ""


def test_private_mode_is_not_required_but_file_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    path.chmod(stat.S_IRUSR)
    assert config.load(path).node("primary").port == 3306


def test_drbd_must_be_an_array_of_tables(tmp_path: Path) -> None:
    start = GOOD.index("[[drbd]]")
    end = GOOD.index("[loadbalancer]")
    text = "drbd = 5\n" + GOOD[:start] + GOOD[end:]
    with pytest.raises(
        ConfigError, match=r"drbd: expected an array of tables \(\[\[\.\.\.\]\]\), got the number 5"
    ):
        config.load(write(tmp_path, text))
