"""Check, plan and run a promotion; report what every node became."""

from __future__ import annotations

from dataclasses import dataclass

from drkit.checks.evidence import gather_promotion_evidence
from drkit.checks.promotion import PromotionEvidence, judge_promotion
from drkit.checks.result import PromotionChecklist
from drkit.config import Config, NodeConfig
from drkit.errors import DrkitError, RefusedError
from drkit.io.audit import AuditLog
from drkit.io.lock import engine_lock
from drkit.plan.executor import ExecutionResult, Executor, StepCallback
from drkit.promote.fates import NodeFate, node_fates
from drkit.promote.plan import PromotionPlan, plan_promotion


@dataclass(frozen=True)
class PromotionReport:
    """The world after a promotion: the new primary, the load balancer, every node's fate."""

    new_primary: str
    old_primary: str | None
    server_id: int | None
    writable: bool | None
    replication_reset: bool
    loadbalancer_writers: tuple[str, ...]  # servers of the backend taking connections now
    expected_writer: str | None  # the new primary's server, when the plan switched HAProxy
    fates: tuple[NodeFate, ...]
    steps_done: int
    seconds: float
    forced: bool = False
    overridden: tuple[str, ...] = ()
    log: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        switched = self.expected_writer is None or self.loadbalancer_writers == (
            self.expected_writer,
        )
        return bool(self.writable) and self.replication_reset and switched

    def fate(self, node: str) -> NodeFate | None:
        return next((f for f in self.fates if f.node == node), None)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "new_primary": self.new_primary,
            "old_primary": self.old_primary,
            "server_id": self.server_id,
            "writable": self.writable,
            "replication_reset": self.replication_reset,
            "loadbalancer_writers": list(self.loadbalancer_writers),
            "fates": [fate.to_json() for fate in self.fates],
            "steps_done": self.steps_done,
            "duration": round(self.seconds, 3),
            "forced": self.forced,
            "overridden": list(self.overridden),
        }


def check_promotion(config: Config, delayed: NodeConfig) -> PromotionChecklist:
    """`drkit check promotion`: gather the evidence, judge it."""
    return judge_promotion(gather_promotion_evidence(config, delayed))


def prepare_promotion(config: Config, delayed: NodeConfig, *, force: bool = False) -> PromotionPlan:
    """Check and plan; never refuses (the plan's `blocked_by` says what would)."""
    evidence = gather_promotion_evidence(config, delayed)
    return plan_promotion(evidence, judge_promotion(evidence), force=force)


def refuse_if_blocked(plan: PromotionPlan) -> None:
    """RefusedError naming every failed critical check, unless the operator forced the plan."""
    if plan.blocked_by and not plan.forced:
        checklist = plan.checklist
        reasons = (
            "; ".join(f"{r.name}: {r.reason}" for r in checklist.blocking)
            if checklist
            else ", ".join(plan.blocked_by)
        )
        raise RefusedError(
            f"promotion refused, nothing was changed: {reasons}",
            hint="`drkit check promotion` shows every check with what to do",
        )


def promote(
    config: Config,
    delayed: NodeConfig,
    plan: PromotionPlan,
    audit: AuditLog,
    *,
    on_step: StepCallback | None = None,
) -> PromotionReport:
    """Under the engine lock, check once more that nothing changed, run the plan, and
    report every node's fate."""
    with engine_lock(config.folder, what="a promotion", command=audit.command):
        return _promote(config, delayed, plan, audit, on_step=on_step)


def _promote(
    config: Config,
    delayed: NodeConfig,
    plan: PromotionPlan,
    audit: AuditLog,
    *,
    on_step: StepCallback | None,
) -> PromotionReport:
    refuse_if_blocked(plan)
    from drkit.checks.privileges import require_privileges

    fenced = [config.node(plan.old_primary)] if plan.old_primary else []
    require_privileges([delayed, *fenced], ["promote"], "promotion")
    if not plan.forced:
        # The operator may have taken minutes to confirm: look again just before writing.
        fresh = judge_promotion(gather_promotion_evidence(config, delayed))
        if fresh.blocking:
            said = "; ".join(f"{r.name}: {r.reason}" for r in fresh.blocking)
            raise RefusedError(
                f"the checks fail now ({said}); nothing was changed",
                hint="`drkit check promotion`, then plan again",
            )
    audit.event(
        "promotion-started",
        node=plan.node,
        old_primary=plan.old_primary,
        forced=plan.forced,
        overridden=list(plan.blocked_by),
        plan=plan.render(),
    )
    try:
        result = Executor(config, audit=audit, on_step=on_step).run(plan)
    except DrkitError as exc:
        audit.event("promotion-failed", node=plan.node, message=exc.message)
        raise
    report = _report(plan, gather_promotion_evidence(config, delayed), result)
    audit.event("promotion-done", node=plan.node, ok=report.ok, result=report.to_json())
    return report


def _report(
    plan: PromotionPlan, after: PromotionEvidence, result: ExecutionResult
) -> PromotionReport:
    new = after.delayed
    others = (*((after.old_primary,) if after.old_primary else ()), *after.others)
    fates = node_fates(
        new,
        others,
        after.destructive,
        old_primary=plan.old_primary,
        reference_executed=plan.executed_gtid,
    )
    view = after.loadbalancer
    config = after.loadbalancer_config
    writers = tuple(s.server for s in view.writers) if view is not None and view.reachable else ()
    expected = (
        config.servers.get(new.name) if config is not None and plan.switches_loadbalancer else None
    )
    return PromotionReport(
        new_primary=new.name,
        old_primary=plan.old_primary,
        server_id=new.server_id,
        writable=new.writable,
        replication_reset=new.reachable and new.replica is None,
        loadbalancer_writers=writers,
        expected_writer=expected,
        fates=fates,
        steps_done=result.steps_done,
        seconds=result.seconds,
        forced=plan.forced,
        overridden=plan.blocked_by if plan.forced else (),
        log=tuple(result.log),
    )
