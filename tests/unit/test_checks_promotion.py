"""The promotion checklist judged on hand-built evidence: each check, its reason and its hint."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from drkit.checks.promotion import DrbdEvidence, PromotionEvidence, judge_promotion
from drkit.checks.record import RecoveryRecord
from drkit.checks.result import CheckResult
from drkit.config import Role
from drkit.model.drbd import find_resource, parse_drbdsetup_json
from drkit.model.drbd_verdict import Level, Verdict, assess_configured
from drkit.model.facts import Unreachable
from drkit.pitr.plan import RecoveryMode
from tests.support.facts import (
    MYSQL,
    down,
    frozen,
    lb_view,
    loadbalancer_config,
    node,
    replica_status,
    transaction,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

BEFORE = RecoveryRecord(
    node="delayed",
    status="done",
    description="stop just before #6 (0-1-6)",
    message="verified",
    started_at=1.0,
    updated_at=2.0,
    verified=True,
    executed_gtid="0-1-5",
    mode=RecoveryMode.BEFORE,
    stop_gtid="0-1-6",
)
SKIP = replace(
    BEFORE,
    description="skip #6 (0-1-6), apply the rest to the end",
    executed_gtid="0-1-9",
    mode=RecoveryMode.SKIP,
    stop_gtid=None,
    skipped=("0-1-6",),
    skipped_ever=("0-1-6",),
)


def evidence(**changes: Any) -> PromotionEvidence:
    """After `recover --before 0-1-6`, with the old primary fenced: every critical check passes."""
    values: dict[str, Any] = {
        "delayed": node("delayed", executed="0-1-5", replica=frozen(received="0-1-9")),
        "old_primary": node("primary", read_only=True, executed="0-1-9"),
        "others": (node("replica", executed="0-1-9", replica=replica_status()),),
        "recovery": BEFORE,
        "index_end": transaction(9, "0-1-9"),
        "destructive": transaction(6, "0-1-6", destructive="drop_table"),
        "loadbalancer_config": loadbalancer_config(),
        "loadbalancer": lb_view({"db1": "ready", "db2": "maint", "db3": "maint"}),
        "drbd": (),
        "gathered_at": 1000.0,
    }
    values.update(changes)
    return PromotionEvidence(**values)


def skipped(**changes: Any) -> PromotionEvidence:
    """After `recover --skip 0-1-6`: the delayed replica holds everything but the disaster."""
    values: dict[str, Any] = {
        "delayed": node("delayed", executed="0-1-9", replica=frozen(received="0-1-9")),
        "recovery": SKIP,
    }
    values.update(changes)
    return evidence(**values)


def row(e: PromotionEvidence, name: str) -> CheckResult:
    found = judge_promotion(e).result(name)
    assert found is not None, name
    return found


def test_all_critical_checks_pass_after_a_verified_recovery_with_the_primary_fenced() -> None:
    checklist = judge_promotion(evidence())
    assert checklist.ok and checklist.failed == () and checklist.blocking == ()
    assert [r.name for r in checklist.results if r.critical] == [
        "not-promoted-yet",
        "recovery-point",
        "unapplied",
        "old-primary-fenced",
        "drbd",
        "no-other-writer",
        "loadbalancer",
    ]
    assert row(evidence(), "recovery-point").reason == (
        "delayed is frozen at 0-1-5 (applier stopped), verified: stop just before #6 (0-1-6)"
    )
    assert row(evidence(), "unapplied").reason == (
        "delayed has applied everything up to 0-1-5 (index 0-1-9, primary 0-1-9, delayed "
        "received 0-1-9); left unapplied on purpose: 0-1-6 and the 3 after it"
    )
    lost = row(evidence(), "lost-transactions")
    assert not lost.ok and not lost.critical
    assert lost.reason == (
        "3 transactions committed after 0-1-6 not on delayed: promoting it loses them"
    )
    assert lost.hint.startswith("`drkit recover --skip 0-1-6`")
    assert checklist.to_json()["ok"] is True


def test_after_a_skip_nothing_is_unapplied_and_nothing_lost() -> None:
    e = skipped()
    assert judge_promotion(e).ok
    assert row(e, "unapplied").reason.endswith("skipped: 0-1-6")
    assert row(e, "lost-transactions").ok
    assert "not applied on delayed (skipped by drkit)" in row(e, "destructive-applied").reason


@pytest.mark.parametrize(
    ("case", "e", "failing", "reason"),
    [
        (
            "primary kept writing after the skip",
            skipped(old_primary=node("primary", read_only=True, executed="0-1-12")),
            {"unapplied"},
            "3 transactions before the planned stop not applied on delayed: 0-1-10 .. 0-1-12; "
            "3 of them were written after the last `drkit index`",
        ),
        (
            "received but not applied, primary gone",
            skipped(
                old_primary=down("primary"),
                delayed=node("delayed", executed="0-1-9", replica=frozen(received="0-1-11")),
            ),
            {"old-primary-fenced", "unapplied"},  # a dead primary is unknown (promote fixes it)
            "2 transactions before the planned stop not applied on delayed: 0-1-10 .. 0-1-11; "
            "2 of them were written after the last `drkit index`",
        ),
        (
            "stopped short of the target",
            evidence(
                delayed=node("delayed", executed="0-1-4", replica=frozen()),
                recovery=replace(BEFORE, executed_gtid="0-1-4"),
            ),
            {"unapplied"},
            "1 transaction before the planned stop not applied on delayed: 0-1-5",
        ),
        (
            "the target got applied after the recovery",
            evidence(delayed=node("delayed", executed="0-1-6", replica=frozen())),
            {"recovery-point", "unapplied"},
            "delayed has applied 0-1-6, which the recovery meant to leave unapplied",
        ),
        (
            "no recovery",
            evidence(recovery=None),
            {"recovery-point", "unapplied"},
            "no recovery is recorded for delayed: nothing shows it stopped at a safe point",
        ),
        (
            "recovery interrupted",
            evidence(recovery=replace(BEFORE, status="interrupted", message="Ctrl-C")),
            {"recovery-point"},
            "the last recovery on delayed (stop just before #6 (0-1-6)) is interrupted: Ctrl-C",
        ),
        (
            "verification failed",
            evidence(
                recovery=replace(BEFORE, verified=False, failed_checks=("table shop.orders",))
            ),
            {"recovery-point"},
            "the recovery on delayed (stop just before #6 (0-1-6)) failed its verification: "
            "table shop.orders",
        ),
        (
            "applier restarted",
            evidence(delayed=node("delayed", executed="0-1-5", replica=replica_status())),
            {"recovery-point"},
            "the applier on delayed is running again: it is applying transactions past the "
            "verified point",
        ),
        (
            "delayed down",
            evidence(delayed=down("delayed")),
            {"not-promoted-yet", "recovery-point", "unapplied"},
            "delayed does not answer: Can't connect to MySQL server (error 2003)",
        ),
        (
            "old primary writable and in the load balancer",
            evidence(old_primary=node("primary", executed="0-1-9")),
            {"old-primary-fenced"},
            "primary is writable (read_only is OFF) and the load balancer still sends it clients",
        ),
        (
            "old primary refuses the login",
            evidence(old_primary=down("primary", Unreachable.AUTH)),
            {"old-primary-fenced"},
            "cannot tell whether primary takes writes: login refused for user 'drkit' (error 1045)",
        ),
        (
            "replica writable",
            evidence(others=(node("replica", read_only=False, replica=replica_status()),)),
            {"no-other-writer"},
            "replica is writable: a second writer beside the new primary",
        ),
        (
            "replica refuses the login",
            evidence(others=(down("replica", Unreachable.AUTH),)),
            {"no-other-writer"},
            "cannot tell whether replica (login refused for user 'drkit' (error 1045)) takes writes",
        ),
        (
            "no load balancer configured",
            evidence(loadbalancer_config=None, loadbalancer=None),
            {"loadbalancer"},
            "no [loadbalancer] is configured: promotion could not move the applications' "
            "connections",
        ),
        (
            "load balancer silent",
            evidence(
                loadbalancer=replace(
                    lb_view({}), reachable=False, reason="no HAProxy admin socket at x"
                )
            ),
            {"loadbalancer"},
            "the load balancer does not answer: no HAProxy admin socket at x",
        ),
        (
            "delayed not mapped",
            evidence(
                loadbalancer_config=loadbalancer_config(primary="db1"),
                loadbalancer=lb_view({"db1": "ready"}, loadbalancer_config(primary="db1")),
            ),
            {"loadbalancer"},
            "[loadbalancer] servers has no entry for delayed",
        ),
        (
            "a replica's server takes clients too",
            evidence(loadbalancer=lb_view({"db1": "ready", "db2": "ready", "db3": "maint"})),
            {"loadbalancer"},
            "backend mysql_primary also sends clients to db2 (replica)",
        ),
    ],
)
def test_each_critical_failure_names_what_it_saw(
    case: str, e: PromotionEvidence, failing: set[str], reason: str
) -> None:
    checklist = judge_promotion(e)
    assert {r.name for r in checklist.failed} == failing, case
    reasons = [r.reason for r in checklist.failed]
    assert reason in reasons, reasons
    assert all(r.hint for r in checklist.failed), "every failure says what to do"


@pytest.mark.parametrize(
    ("case", "old", "view", "reason"),
    [
        (
            "in maint",
            node("primary", executed="0-1-9"),
            lb_view({"db1": "maint", "db2": "maint", "db3": "maint"}),
            "primary is writable but its server is in maint on the load balancer: clients "
            "through it cannot reach it (direct connections still can)",
        ),
        (
            "login refused but in maint",
            down("primary", Unreachable.AUTH),
            lb_view({"db1": "maint", "db2": "maint", "db3": "maint"}),
            "primary cannot be asked (login refused for user 'drkit' (error 1045)) but is in "
            "maint on the load balancer",
        ),
        (
            "mysql super_read_only",
            node("primary", version=MYSQL, read_only=True, super_read_only=True),
            None,
            "primary is super_read_only",
        ),
        (
            "mysql read_only only",
            node("primary", version=MYSQL, read_only=True, super_read_only=False),
            None,
            "primary is read-only but not super_read_only: accounts with SUPER or "
            "CONNECTION_ADMIN can still write",
        ),
    ],
)
def test_ways_the_old_primary_counts_as_fenced(case: str, old: Any, view: Any, reason: str) -> None:
    changes: dict[str, Any] = {"old_primary": old}
    if view is not None:
        changes["loadbalancer"] = view
    if old.version is not None and not old.is_mariadb:
        changes["delayed"] = node("delayed", version=MYSQL, replica=frozen())
    result = row(evidence(**changes), "old-primary-fenced")
    assert result.ok, case
    assert result.reason == reason


def test_a_writable_old_primary_is_fixed_by_the_promotion_plan_but_fails_the_check() -> None:
    checklist = judge_promotion(evidence(old_primary=node("primary", executed="0-1-9")))
    assert not checklist.ok
    fence = checklist.result("old-primary-fenced")
    assert fence is not None and fence.promote_fixes
    assert "SET GLOBAL read_only = ON on primary" in fence.hint
    assert checklist.blocking == ()
    assert checklist.to_json()["blocking"] == []


def drbd(fixture: str, resource: str = "some-resource") -> DrbdEvidence:
    text = (FIXTURES / fixture).read_text(encoding="utf-8")
    resources = parse_drbdsetup_json(text)
    return DrbdEvidence(
        resource, assess_configured(resources, resource), find_resource(resources, resource)
    )


def test_drbd_split_brain_refuses_and_a_healthy_pair_passes_with_a_warning() -> None:
    split = judge_promotion(
        evidence(drbd=(drbd("drbd-derived/drbdsetup-status-9-split-brain.json"),))
    )
    assert [r.name for r in split.failed] == ["drbd"]
    failed = split.failed[0]
    assert (
        "the connection to peer some-peer is StandAlone with 4096 KiB out of sync" in failed.reason
    )
    healthy = judge_promotion(evidence(drbd=(drbd("drbd/drbdsetup-status-9.json"),)))
    assert healthy.ok
    ok = healthy.result("drbd")
    assert ok is not None and ok.reason == (
        "some-resource: Secondary, disk UpToDate, 1 peer connected and up to date"
    )
    failover = healthy.result("drbd-failover")
    assert failover is not None and not failover.ok and not failover.critical
    assert failover.reason.startswith(
        "this node (some-resource, Secondary) holds an up-to-date copy"
    )


def test_drbd_state_unknown_refuses() -> None:
    unknown = DrbdEvidence(
        "r0",
        (
            Verdict(
                Level.CRITICAL,
                "state_unknown",
                "DRBD state of r0 is unknown: drbdsetup: not found on PATH",
            ),
        ),
    )
    checklist = judge_promotion(evidence(drbd=(unknown,)))
    assert [r.name for r in checklist.failed] == ["drbd"]
    assert checklist.failed[0].reason == "DRBD state of r0 is unknown: drbdsetup: not found on PATH"
    assert judge_promotion(evidence()).result("drbd") == CheckResult(
        "drbd", True, "no DRBD resource is configured"
    )


def test_advisory_checks_do_not_decide() -> None:
    e = evidence(old_primary=down("primary"), others=(down("replica", role=Role.REPLICA),))
    checklist = judge_promotion(e)
    errant = checklist.result("errant-transactions")
    assert errant is not None and not errant.ok and not errant.critical
    assert (
        errant.reason == "cannot tell: primary does not answer, so there is nothing to compare with"
    )
    assert [r.name for r in checklist.blocking] == ["no-other-writer"]


def test_not_answering_is_unknown_and_unknown_is_not_ok() -> None:
    """Issue 18 item 6: a node that does not answer gives no evidence (Patroni's rule)."""
    replica_down = judge_promotion(evidence(others=(down("replica", role=Role.REPLICA),)))
    writer = replica_down.result("no-other-writer")
    assert writer is not None and not writer.ok and not writer.promote_fixes
    assert writer.reason == "unknown: replica does not answer: nothing shows it takes no writes"
    assert "--force" in writer.hint
    assert not replica_down.possible and "no-other-writer" in replica_down.verdict

    # A dead old primary: unknown; promotion's own plan takes its HAProxy server out first.
    primary_down = judge_promotion(evidence(old_primary=down("primary")))
    fence = primary_down.result("old-primary-fenced")
    assert fence is not None and not fence.ok and fence.promote_fixes
    assert fence.reason.startswith("unknown: primary does not answer")
    assert primary_down.possible
    assert primary_down.verdict == (
        "promotion is possible: `drkit promote` puts right first: old-primary-fenced"
    )
    # Without a load balancer nothing keeps clients from it if it comes back: --force.
    alone = judge_promotion(
        evidence(old_primary=down("primary"), loadbalancer_config=None, loadbalancer=None)
    )
    fence = alone.result("old-primary-fenced")
    assert fence is not None and not fence.ok and not fence.promote_fixes
    assert not alone.possible


def test_a_promoted_delayed_replica_has_nothing_left_to_promote() -> None:
    promoted = node("delayed", executed="0-1-5", read_only=False, replica=None)
    checklist = judge_promotion(evidence(delayed=promoted))
    assert not checklist.possible
    assert checklist.verdict.startswith("nothing to promote: delayed is already a primary")


def test_one_verdict_for_every_front_end() -> None:
    passing = judge_promotion(evidence())
    assert passing.possible and passing.verdict == (
        "promotion is possible: every critical check passes"
    )
    assert passing.to_json()["verdict"] == passing.verdict
    assert passing.to_json()["possible"] is True
