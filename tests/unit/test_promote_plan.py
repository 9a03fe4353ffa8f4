"""The promotion plan and the other nodes' fates, built from hand-made evidence (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from drkit.checks.promotion import judge_promotion
from drkit.errors import RefusedError
from drkit.plan.conditions import ExecutedIs, NotReplica, ReadOnlyIs, ReplicationStopped
from drkit.plan.steps import LoadBalancerStep, SqlStep
from drkit.promote.fates import Fate, node_fates
from drkit.promote.plan import plan_promotion
from drkit.promote.run import refuse_if_blocked
from tests.support.facts import (
    MYSQL,
    UUID,
    down,
    frozen,
    lb_view,
    node,
    replica_status,
    transaction,
)
from tests.unit.test_checks_promotion import BEFORE, evidence, skipped


def plan_of(e: Any, force: bool = False) -> Any:
    return plan_promotion(e, judge_promotion(e), force=force)


def test_mariadb_plan_fences_switches_and_promotes_in_order() -> None:
    e = skipped(old_primary=node("primary", executed="0-1-9"))
    plan = plan_of(e)
    assert plan.statements() == [
        "primary: SET GLOBAL read_only = ON",
        "haproxy: set server mysql_primary/db1 state maint",
        "haproxy: shutdown sessions server mysql_primary/db1",
        "delayed: RESET SLAVE ALL",
        "delayed: SET GLOBAL read_only = OFF",
        "haproxy: set server mysql_primary/db3 state ready",
    ]
    fence, maint, cut, reset, writable, ready = plan.steps
    assert isinstance(fence, SqlStep) and fence.post == (ReadOnlyIs(True),)
    assert isinstance(reset, SqlStep)
    assert reset.pre == (ReplicationStopped(), ExecutedIs("0-1-9"))
    assert reset.post == (NotReplica(),)
    assert isinstance(writable, SqlStep) and writable.post == (ReadOnlyIs(False),)
    assert all(isinstance(s, LoadBalancerStep) for s in (maint, cut, ready))
    assert plan.blocked_by == () and not plan.forced and plan.switches_loadbalancer
    text = plan.render()
    for statement in plan.statements():
        assert statement.split(": ", 1)[1] in text


def test_a_running_receiver_is_stopped_before_the_reset() -> None:
    delayed = node(
        "delayed",
        executed="0-1-9",
        replica=replica_status(applier_running=False, received_gtids="0-1-9"),
    )
    plan = plan_of(skipped(delayed=delayed))
    assert plan.statements()[:3] == [
        "haproxy: set server mysql_primary/db1 state maint",
        "haproxy: shutdown sessions server mysql_primary/db1",
        "delayed: STOP SLAVE",
    ]
    assert "primary is already read-only" in plan.render()


def test_mysql_plan_uses_super_read_only() -> None:
    uuid_pos = f"{UUID}:1-9"
    e = skipped(
        old_primary=node(
            "primary", version=MYSQL, read_only=True, super_read_only=False, executed=uuid_pos
        ),
        delayed=node(
            "delayed",
            version=MYSQL,
            read_only=True,
            super_read_only=True,
            executed=uuid_pos,
            replica=frozen(),
        ),
        others=(),
        recovery=None,
    )
    plan = plan_of(e, force=True)
    assert plan.statements() == [
        "primary: SET GLOBAL super_read_only = ON",
        "haproxy: set server mysql_primary/db1 state maint",
        "haproxy: shutdown sessions server mysql_primary/db1",
        "delayed: RESET REPLICA ALL",
        "delayed: SET GLOBAL super_read_only = OFF",
        "delayed: SET GLOBAL read_only = OFF",
        "haproxy: set server mysql_primary/db3 state ready",
    ]
    assert plan.forced and "recovery-point" in plan.blocked_by
    assert plan.render().count("FORCED past failed checks") == 1


def test_blocked_plans_are_refused_unless_forced() -> None:
    e = evidence(recovery=None)
    plan = plan_of(e)
    assert plan.blocked_by == ("recovery-point", "unapplied") and not plan.forced
    with pytest.raises(
        RefusedError, match="promotion refused, nothing was changed: recovery-point"
    ):
        refuse_if_blocked(plan)
    refuse_if_blocked(plan_of(e, force=True))  # forced: no exception
    # A writable old primary alone does not block: the plan fences it first.
    writable = plan_of(evidence(old_primary=node("primary", executed="0-1-9")))
    assert writable.blocked_by == ()
    refuse_if_blocked(writable)


def test_without_a_usable_load_balancer_the_plan_says_to_repoint_by_hand() -> None:
    e = evidence(loadbalancer=lb_view({"db1": "ready", "db2": "ready", "db3": "maint"}))
    plan = plan_of(e, force=True)
    assert not any(isinstance(s, LoadBalancerStep) for s in plan.steps)
    assert not plan.switches_loadbalancer
    assert "the load balancer is not switched: repoint the applications to delayed" in plan.render()


def test_unreachable_old_primary_is_not_fenced_by_sql_but_leaves_the_load_balancer() -> None:
    plan = plan_of(evidence(old_primary=down("primary")))
    assert plan.statements() == [
        "haproxy: set server mysql_primary/db1 state maint",
        "haproxy: shutdown sessions server mysql_primary/db1",
        "delayed: RESET SLAVE ALL",
        "delayed: SET GLOBAL read_only = OFF",
        "haproxy: set server mysql_primary/db3 state ready",
    ]
    assert "primary does not answer" in plan.render()


def test_a_dead_delayed_replica_cannot_be_planned() -> None:
    with pytest.raises(RefusedError, match="there is nothing to promote"):
        plan_of(evidence(delayed=down("delayed")))


def test_fates_rebuild_what_applied_the_disaster_and_only_show_how_to_follow() -> None:
    drop = transaction(6, "0-1-6", destructive="drop_table")
    new = node("delayed", executed="0-1-9", replica=None, read_only=False)
    fates = node_fates(
        new,
        [
            node("primary", read_only=True, executed="0-1-9"),
            node("replica", executed="0-1-9", replica=replica_status()),
            node("lagging", executed="0-1-5", replica=replica_status(applier_running=False)),
            down("gone"),
        ],
        drop,
        old_primary="primary",
    )
    by_node = {f.node: f for f in fates}
    assert by_node["delayed"].fate is Fate.NEW_PRIMARY
    assert by_node["primary"].fate is Fate.REBUILD
    assert by_node["primary"].reason.startswith("the old primary that applied #6 0-1-6 DROP TABLE")
    assert by_node["replica"].fate is Fate.REBUILD and by_node["replica"].applied_destructive
    lagging = by_node["lagging"]
    assert lagging.fate is Fate.CAN_FOLLOW and lagging.applied_destructive is False
    assert lagging.commands == (
        "lagging> STOP SLAVE; CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = 13309, "
        "MASTER_USER = '<replication user>', MASTER_PASSWORD = '<redacted>', "
        "MASTER_USE_GTID = slave_pos, MASTER_DELAY = 0; START SLAVE",
    )
    assert by_node["gone"].fate is Fate.UNKNOWN
    rebuild = by_node["replica"].commands
    assert rebuild[2] == (
        "mariadb-dump --defaults-extra-file=delayed.cnf --single-transaction --gtid "
        "--master-data=1 --all-databases --routines --events --triggers | "
        "mariadb --defaults-extra-file=replica.cnf"
    )
    assert rebuild[1] == "replica> STOP SLAVE; RESET SLAVE ALL; RESET MASTER"


def test_a_node_past_the_new_primary_is_rebuilt_even_without_the_disaster() -> None:
    # recover --before: the replica applied the transactions after the stop, the new primary not.
    new = node("delayed", executed="0-1-5", read_only=False)
    fates = node_fates(new, [node("replica", executed="0-1-9", replica=replica_status())], None)
    assert fates[1].fate is Fate.REBUILD
    assert "0-1-9, beyond the primary's 0-1-5" in fates[1].reason


def test_plan_json_carries_the_fates_and_the_checks() -> None:
    plan = plan_of(evidence())
    data = plan.to_json()
    assert data["new_primary"] == "delayed" and data["old_primary"] == "primary"
    assert [f["fate"] for f in data["fates"]] == ["new-primary", "rebuild", "rebuild"]
    assert data["executed_gtid"] == BEFORE.executed_gtid
