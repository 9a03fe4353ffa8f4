"""The load balancer model: parsing real HAProxy 2.6 answers, decoding states, the switch plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drkit.config import LoadBalancerConfig
from drkit.errors import ConfigError
from drkit.model.loadbalancer import (
    AdminFlag,
    LoadBalancerView,
    Mode,
    OpState,
    ServerCommand,
    ServerState,
    parse_servers_state,
    parse_sessions,
    reply_error,
    set_state_command,
    show_servers_state_command,
    show_stat_command,
    shutdown_sessions_command,
    writer_switch_commands,
    writer_switch_plan,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "haproxy"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def lb_config(**servers: str) -> LoadBalancerConfig:
    return LoadBalancerConfig(
        kind="haproxy",
        socket=Path("/run/haproxy/admin.sock"),
        backend="mysql_primary",
        servers=servers or {"primary": "db1", "delayed": "db3"},
    )


# --- parsing real answers ---------------------------------------------------------------------


def test_initial_state_has_one_writer_and_one_disabled_server() -> None:
    db1, db3 = parse_servers_state(fixture("initial.txt"))
    assert (db1.backend, db1.server, db1.address, db1.port) == (
        "mysql_primary",
        "db1",
        "127.0.0.1",
        18601,
    )
    assert db1.mode is Mode.READY and db1.op_state is OpState.RUNNING and db1.takes_traffic
    # `disabled` in the config sets both the forced and the configuration maintenance bits.
    assert db3.admin_flags == AdminFlag.FMAINT | AdminFlag.CMAINT
    assert db3.mode is Mode.MAINT and db3.op_state is OpState.STOPPED and not db3.takes_traffic
    assert db3.port == 18603


def test_switched_state_keeps_cmaint_but_takes_traffic() -> None:
    db1, db3 = parse_servers_state(fixture("switched.txt"))
    assert db1.mode is Mode.MAINT and db1.admin_flags == AdminFlag.FMAINT
    assert db3.admin_flags == AdminFlag.CMAINT
    assert db3.mode is Mode.READY and db3.takes_traffic


def test_tracking_server_inherits_maintenance() -> None:
    db1, db3 = parse_servers_state(fixture("tracked-inherited-maint.txt"))
    assert db1.mode is Mode.MAINT
    assert db3.admin_flags == AdminFlag.IMAINT
    assert db3.mode is Mode.MAINT and not db3.takes_traffic


def test_drained_server_takes_no_new_traffic() -> None:
    db1, _ = parse_servers_state(fixture("drained.txt"))
    assert db1.mode is Mode.DRAIN and db1.op_state is OpState.RUNNING and not db1.takes_traffic


@pytest.mark.parametrize(
    ("server", "decoded", "where"),
    [
        ("db1", (Mode.READY, OpState.RUNNING, True), ("127.0.0.1", None)),
        ("db3", (Mode.MAINT, OpState.STOPPED, False), ("127.0.0.1", None)),
        ("up1", (Mode.READY, OpState.RUNNING, True), ("127.0.0.1", None)),
        ("down1", (Mode.READY, OpState.STOPPED, False), ("127.0.0.1", None)),  # failed checks
        ("drained", (Mode.DRAIN, OpState.RUNNING, False), ("127.0.0.1", None)),
        ("weight0", (Mode.READY, OpState.RUNNING, False), ("127.0.0.1", None)),
        ("fqdn1", (Mode.READY, OpState.RUNNING, True), ("127.0.0.1", "localhost")),
        ("unresolved", (Mode.MAINT, OpState.STOPPED, False), (None, "nonexistent.invalid")),
    ],
)
def test_every_server_of_every_backend(
    server: str, decoded: tuple[Mode, OpState, bool], where: tuple[str | None, str | None]
) -> None:
    states = {s.server: s for s in parse_servers_state(fixture("all-backends.txt"))}
    assert len(states) == 8
    state = states[server]
    assert (state.mode, state.op_state, state.takes_traffic) == decoded
    assert (state.address, state.fqdn) == where


def test_unresolvable_server_is_in_resolution_maintenance() -> None:
    states = {s.server: s for s in parse_servers_state(fixture("all-backends.txt"))}
    assert states["unresolved"].admin_flags == AdminFlag.RMAINT
    assert states["unresolved"].endpoint == "nonexistent.invalid:18604"
    assert {s.backend for s in states.values()} == {"mysql_primary", "checked"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (fixture("unknown-backend.txt"), "Can't find backend"),
        ("", "an empty answer"),
        ("\n", "an empty answer"),
        ("2\n# be_id be_name\n", "format 1"),
        ("1\n3 mysql_primary 1 db1\n", "no column header"),
        ("1\n# be_id be_name srv_name\n3 b s\n", "lacks columns"),
    ],
)
def test_answers_that_are_not_a_state_dump_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_servers_state(text)


def test_row_with_a_missing_field_is_refused() -> None:
    text = fixture("initial.txt").replace(" - 18601 - 0 0 - - 0", " - 18601 - 0 0 - -")
    with pytest.raises(ValueError, match="fields"):
        parse_servers_state(text)


def test_unknown_operational_state_is_refused() -> None:
    text = fixture("initial.txt").replace("db1 127.0.0.1 2 0", "db1 127.0.0.1 7 0")
    with pytest.raises(ValueError, match="not understood"):
        parse_servers_state(text)


def test_comment_rows_are_skipped() -> None:
    lines = fixture("initial.txt").splitlines()
    text = "\n".join([*lines[:2], "# a comment", *lines[2:]])
    assert [s.server for s in parse_servers_state(text)] == ["db1", "db3"]


# --- decoding op and admin state ---------------------------------------------------------------

F = AdminFlag


@pytest.mark.parametrize(
    ("op_state", "admin", "weight", "mode", "takes_traffic"),
    [
        (OpState.RUNNING, F(0), 1, Mode.READY, True),
        (OpState.STARTING, F(0), 1, Mode.READY, True),
        (OpState.STOPPING, F(0), 1, Mode.READY, False),
        (OpState.STOPPED, F(0), 1, Mode.READY, False),
        (OpState.RUNNING, F(0), 0, Mode.READY, False),
        (OpState.RUNNING, F.CMAINT, 1, Mode.READY, True),  # `disabled` in config, since set ready
        (OpState.RUNNING, F.HMAINT, 1, Mode.READY, True),  # FQDN changed: a marker only
        (OpState.STOPPED, F.FMAINT, 1, Mode.MAINT, False),
        (OpState.STOPPED, F.FMAINT | F.CMAINT, 1, Mode.MAINT, False),
        (OpState.STOPPED, F.IMAINT, 1, Mode.MAINT, False),
        (OpState.STOPPED, F.RMAINT, 1, Mode.MAINT, False),
        (OpState.RUNNING, F.FDRAIN, 1, Mode.DRAIN, False),
        (OpState.RUNNING, F.IDRAIN, 1, Mode.DRAIN, False),
        (OpState.STOPPED, F.FMAINT | F.FDRAIN, 1, Mode.MAINT, False),  # maint outranks drain
    ],
)
def test_state_decoding(
    op_state: OpState, admin: AdminFlag, weight: int, mode: Mode, takes_traffic: bool
) -> None:
    state = ServerState("be", "s", "127.0.0.1", 1, op_state, admin, weight)
    assert state.mode is mode
    assert state.takes_traffic is takes_traffic


def test_server_state_json_names_flags_and_states() -> None:
    _, db3 = parse_servers_state(fixture("initial.txt"))
    data = db3.to_json()
    assert data["mode"] == "maint"
    assert data["op_state"] == "stopped"
    assert data["admin_flags"] == ["FMAINT", "CMAINT"]
    assert data["takes_traffic"] is False


# --- session counts and command replies ---------------------------------------------------------


def test_sessions_from_show_stat() -> None:
    assert parse_sessions(fixture("stat.csv")) == {"db1": 0, "db3": 0}
    assert parse_sessions(fixture("stat-two-sessions.csv")) == {"db1": 2, "db3": 0}


@pytest.mark.parametrize(
    "text", [fixture("stat-unknown-backend.txt"), "", "# pxname,svname\nx,y\n"]
)
def test_sessions_refuse_other_answers(text: str) -> None:
    with pytest.raises(ValueError):
        parse_sessions(text)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("set-ok-reply.txt", None),
        ("set-unknown-server.txt", "No such server."),
        ("set-unknown-backend.txt", "No such backend."),
        ("set-bad-state.txt", "'set server <srv> state' expects 'ready', 'drain' and 'maint'."),
        ("set-permission-denied.txt", "Permission denied"),
        ("shutdown-unknown-server.txt", "No such server."),
    ],
)
def test_reply_errors_are_detected_from_text(name: str, error: str | None) -> None:
    assert reply_error(fixture(name)) == error


def test_no_bytes_at_all_is_not_a_success() -> None:
    assert reply_error("") is not None


# --- command texts ----------------------------------------------------------------------------


def test_command_texts() -> None:
    assert show_servers_state_command("mysql_primary") == "show servers state mysql_primary"
    assert show_stat_command("mysql_primary") == "show stat mysql_primary 4 -1"
    assert set_state_command("be", "db1", Mode.MAINT) == "set server be/db1 state maint"
    assert set_state_command("be", "db1", Mode("ready")) == "set server be/db1 state ready"
    assert shutdown_sessions_command("be", "db1") == "shutdown sessions server be/db1"


@pytest.mark.parametrize("name", ["db1;disable frontend x", "db 1", "db1\nshow info", "", "a/b"])
def test_names_that_could_carry_another_command_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="not a HAProxy"):
        set_state_command("be", name, Mode.READY)
    with pytest.raises(ConfigError):
        show_servers_state_command(name)


# --- the writer switch ------------------------------------------------------------------------


def test_switch_commands_put_the_old_writer_in_maint_first() -> None:
    assert writer_switch_commands(lb_config(), "primary", "delayed") == [
        "set server mysql_primary/db1 state maint",
        "shutdown sessions server mysql_primary/db1",
        "set server mysql_primary/db3 state ready",
    ]


def test_switch_plan_and_commands_are_the_same_steps() -> None:
    plan = writer_switch_plan(lb_config(), "delayed", "primary")
    assert [str(step) for step in plan] == writer_switch_commands(lb_config(), "delayed", "primary")
    assert plan[0] == ServerCommand.set_state("mysql_primary", "db3", Mode.MAINT)
    assert plan[-1] == ServerCommand.set_state("mysql_primary", "db1", Mode.READY)


def test_switch_never_has_two_writers() -> None:
    """Play the plan on a simulated backend: at no step may two servers take new connections."""
    modes = {"db1": Mode.READY, "db3": Mode.MAINT, "db2": Mode.MAINT}
    config = lb_config(primary="db1", delayed="db3", replica="db2")
    for step in writer_switch_plan(config, "primary", "delayed"):
        if step.mode is not None:
            modes[step.server] = step.mode
        assert sum(mode is Mode.READY for mode in modes.values()) <= 1
    assert modes == {"db1": Mode.MAINT, "db3": Mode.READY, "db2": Mode.MAINT}


def test_switch_to_an_unmapped_node_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no entry for node 'replica'"):
        writer_switch_commands(lb_config(), "primary", "replica")


def test_switch_between_nodes_sharing_a_server_is_refused() -> None:
    with pytest.raises(ConfigError, match="nothing to switch"):
        writer_switch_commands(lb_config(primary="db1", delayed="db1"), "primary", "delayed")


# --- the view -----------------------------------------------------------------------------------


def view_of(name: str, **servers: str) -> LoadBalancerView:
    config = lb_config(**servers)
    return LoadBalancerView(
        str(config.socket),
        config.backend,
        True,
        None,
        parse_servers_state(fixture(name)),
        dict(config.servers),
    )


def test_view_maps_nodes_to_servers() -> None:
    view = view_of("switched.txt")
    assert view.for_node("delayed") == view.server("db3")
    assert [s.server for s in view.writers] == ["db3"]
    assert view.problems == ()
    data = json.loads(json.dumps(view.to_json()))
    assert data["reachable"] is True
    assert [(s["node"], s["server"], s["mode"]) for s in data["servers"]] == [
        ("primary", "db1", "maint"),
        ("delayed", "db3", "ready"),
    ]


def test_view_reports_missing_servers_and_two_writers() -> None:
    both_ready = fixture("switched.txt").replace("db1 127.0.0.1 0 1", "db1 127.0.0.1 2 0")
    config = lb_config(primary="db1", delayed="db3", replica="db9")
    view = LoadBalancerView(
        "s", "mysql_primary", True, None, parse_servers_state(both_ready), dict(config.servers)
    )
    assert view.problems == (
        "server db9 (node replica) is not in backend mysql_primary",
        "2 servers of backend mysql_primary take writes: db1, db3",
    )


def test_view_with_no_writer_says_so() -> None:
    assert view_of("drained.txt").problems == (
        "no server of backend mysql_primary takes connections",
    )


def test_unreachable_view_carries_the_reason() -> None:
    view = LoadBalancerView.unreachable(lb_config(), "no HAProxy admin socket at /x")
    assert not view.reachable
    assert view.servers == ()
    assert view.problems == ("no HAProxy admin socket at /x",)
    assert view.to_json()["reason"] == "no HAProxy admin socket at /x"
