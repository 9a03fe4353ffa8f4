"""The promotion plan, built in pure code from the evidence the checks judged.

Order: fence the old primary (read-only) while it still answers; take its server out of the load
balancer (maint, then cut its open sessions); stop and reset replication on the delayed replica;
make it writable; only then send the load balancer's clients to it. Every other node's fate is
reported, never acted on: nodes that applied the disaster are to be rebuilt, not repointed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drkit.checks.promotion import PromotionEvidence
from drkit.checks.result import PromotionChecklist
from drkit.dialect import Dialect, for_version
from drkit.errors import RefusedError
from drkit.model.facts import NodeFacts
from drkit.model.loadbalancer import Mode, ServerCommand, writer_switch_plan
from drkit.plan.conditions import ExecutedIs, NotReplica, ReadOnlyIs, ReplicationStopped
from drkit.plan.steps import LoadBalancerStep, Plan, SqlStep, Step
from drkit.promote.fates import NodeFate, node_fates


@dataclass(frozen=True)
class PromotionPlan(Plan):
    """A Plan (the dry run prints it, the executor runs it) with what promotion reports need."""

    old_primary: str | None = None
    executed_gtid: str = ""  # the delayed replica's executed set when planned
    fates: tuple[NodeFate, ...] = ()
    blocked_by: tuple[str, ...] = ()  # critical checks failing that the plan does not fix
    forced: bool = False
    switches_loadbalancer: bool = False
    checklist: PromotionChecklist | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, object]:
        data = super().to_json()
        data.update(
            {
                "old_primary": self.old_primary,
                "new_primary": self.node,
                "executed_gtid": self.executed_gtid or None,
                "fates": [fate.to_json() for fate in self.fates],
                "blocked_by": list(self.blocked_by),
                "forced": self.forced,
                "switches_loadbalancer": self.switches_loadbalancer,
            }
        )
        return data


def plan_promotion(
    evidence: PromotionEvidence, checklist: PromotionChecklist, *, force: bool = False
) -> PromotionPlan:
    """The plan; `blocked_by` names the critical checks that refuse it (unless forced)."""
    new = evidence.delayed
    if not new.reachable or new.version is None:
        raise RefusedError(
            f"{new.name} does not answer ({new.unreachable_reason}): there is nothing to promote"
        )
    old = evidence.old_primary
    blocked = tuple(r.name for r in checklist.blocking)
    lb_check = checklist.result("loadbalancer")
    lb_ok = lb_check is not None and lb_check.ok
    switch = _switch(evidence, lb_ok)
    steps: list[Step] = []
    summary: list[str] = []
    steps += _fence(old, summary)
    steps += [LoadBalancerStep(c, why) for c, why in switch[:-1]]
    steps += _promote(new, for_version(new.version))
    steps += [LoadBalancerStep(c, why) for c, why in switch[-1:]]
    fates = node_fates(
        new,
        (*((old,) if old else ()), *evidence.others),
        evidence.destructive,
        old_primary=old.name if old else None,
    )
    summary.insert(0, f"{new.name} becomes the primary at {new.executed or '-'}")
    return PromotionPlan(
        title=f"Promote {new.name} to primary" + (f" in place of {old.name}" if old else ""),
        node=new.name,
        steps=tuple(steps),
        summary=tuple(summary),
        notes=_notes(evidence, checklist, fates, switch, force),
        old_primary=old.name if old else None,
        executed_gtid=str(new.executed),
        fates=fates,
        blocked_by=blocked,
        forced=force and bool(blocked),
        switches_loadbalancer=bool(switch),
        checklist=checklist,
    )


def _fence(old: NodeFacts | None, summary: list[str]) -> list[Step]:
    if old is None:
        return []
    if not old.reachable or old.version is None:
        summary.append(
            f"{old.name} does not answer ({old.unreachable_reason}): it cannot be made read-only; "
            "it must stay down"
        )
        return []
    fenced = old.read_only if old.is_mariadb else old.super_read_only
    if fenced:
        summary.append(f"{old.name} is already read-only")
        return []
    statements = for_version(old.version).set_read_only(True)
    return [
        SqlStep(
            old.name,
            sql,
            "fence the old primary: from here on it takes no more writes",
            post=(ReadOnlyIs(True),) if index == len(statements) - 1 else (),
        )
        for index, sql in enumerate(statements)
    ]


def _promote(new: NodeFacts, d: Dialect) -> list[Step]:
    steps: list[Step] = []
    unchanged = ExecutedIs(str(new.executed))
    replica = new.replica
    if replica is not None:
        if replica.applier_running or replica.receiver_state != "No":
            steps.append(
                SqlStep(
                    new.name,
                    d.stop_replication(),
                    "nothing more arrives from the old primary",
                    pre=(unchanged,),
                    post=(ReplicationStopped(),),
                )
            )
        steps.append(
            SqlStep(
                new.name,
                d.reset_replica(),
                "forget the old primary for good (its relay logs are dropped: nothing in them "
                "is to be applied)",
                pre=(ReplicationStopped(), unchanged),
                post=(NotReplica(),),
            )
        )
    writable = new.read_only is False and not new.super_read_only
    if not writable:
        statements = d.set_read_only(False)
        steps += [
            SqlStep(
                new.name,
                sql,
                "the new primary takes writes",
                pre=(unchanged,) if index == 0 else (),
                post=(ReadOnlyIs(False),) if index == len(statements) - 1 else (),
            )
            for index, sql in enumerate(statements)
        ]
    return steps


def _switch(evidence: PromotionEvidence, lb_ok: bool) -> list[tuple[ServerCommand, str]]:
    """Load-balancer commands: old server to maint, its sessions cut, then the new one ready."""
    config = evidence.loadbalancer_config
    new = evidence.delayed.name
    if config is None or not lb_ok or new not in config.servers:
        return []
    old = evidence.old_primary
    if old is not None and old.name in config.servers:
        maint, cut, ready = writer_switch_plan(config, old.name, new)
        return [
            (maint, f"no new connection reaches {old.name}"),
            (cut, f"close the connections still open to {old.name}"),
            (ready, f"the applications' connections go to {new}"),
        ]
    ready_alone = ServerCommand.set_state(config.backend, config.servers[new], Mode.READY)
    return [(ready_alone, f"the applications' connections go to {new}")]


def _notes(
    evidence: PromotionEvidence,
    checklist: PromotionChecklist,
    fates: tuple[NodeFate, ...],
    switch: list[tuple[ServerCommand, str]],
    force: bool,
) -> tuple[str, ...]:
    new = evidence.delayed
    old = evidence.old_primary
    notes: list[str] = []
    blocking = checklist.blocking
    if blocking:
        said = "; ".join(f"{r.name}: {r.reason}" for r in blocking)
        notes.append(
            ("FORCED past failed checks: " if force else "refused by failed checks: ") + said
        )
    if not switch:
        notes.append(
            "the load balancer is not switched: repoint the applications to "
            f"{new.name} ({new.address}) yourself"
        )
    if new.is_mariadb:
        notes.append(
            "MariaDB has no super_read_only: on the fenced server, accounts with READ ONLY ADMIN "
            "(SUPER before 10.11) can still write"
        )
    notes.append(
        f"a restart re-reads {new.name}'s option file: make sure it does not set read_only there"
    )
    notes.append(
        f"drkit.toml still names {old.name if old else 'no node'} as primary: set role = "
        f'"primary" on {new.name} and another role on the old one; drkit does not edit it'
    )
    notes += [line for fate in fates[1:] for line in fate.render()]
    return tuple(notes)
