"""`drkit check promotion`: the evidence for promoting the delayed replica, judged in pure code.

Critical checks decide (every one must pass): the delayed replica is frozen at a verified recovery
point; nothing it received is unapplied beyond the recovery's plan; the old primary is fenced; no
DRBD peer can bring the old primary back unfenced; no other node is writable; the load balancer is
known and reachable. Advisory checks inform: transactions promotion would lose, who applied the
disaster, errant transactions, a DRBD standby that a failover could start.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from drkit.checks.gtids import Stream
from drkit.checks.record import RecoveryRecord
from drkit.checks.replication import destructive_applied, errant_list
from drkit.checks.result import CheckResult, PromotionChecklist
from drkit.config import LoadBalancerConfig
from drkit.dialect import for_version
from drkit.index.records import IndexedTransaction
from drkit.model.drbd import PRIMARY, UP_TO_DATE, DrbdResource
from drkit.model.drbd_verdict import Level, Verdict
from drkit.model.facts import NodeFacts, Unreachable
from drkit.model.loadbalancer import LoadBalancerView, Mode

RECOVER_HINT = (
    "roll it to a verified point first: `drkit recover --before latest-destructive` "
    "(or `--skip latest-destructive` to keep what came after)"
)


@dataclass(frozen=True)
class DrbdEvidence:
    """One configured DRBD resource: the verdicts on it and, when it was read, its state."""

    resource: str
    verdicts: tuple[Verdict, ...]
    state: DrbdResource | None = None


@dataclass(frozen=True)
class PromotionEvidence:
    """Everything the promotion checks judge, gathered at one moment."""

    delayed: NodeFacts
    old_primary: NodeFacts | None
    others: tuple[NodeFacts, ...]
    recovery: RecoveryRecord | None
    index_end: IndexedTransaction | None
    destructive: IndexedTransaction | None
    loadbalancer_config: LoadBalancerConfig | None
    loadbalancer: LoadBalancerView | None
    drbd: tuple[DrbdEvidence, ...]
    gathered_at: float

    @property
    def nodes(self) -> tuple[NodeFacts, ...]:
        first = (self.old_primary,) if self.old_primary else ()
        return (*first, *self.others, self.delayed)

    def skipped_on(self, node: str) -> Collection[str]:
        """GTIDs drkit skipped on a node (only the delayed replica is ever recovered)."""
        if node == self.delayed.name and self.recovery is not None:
            return self.recovery.skipped_ever
        return ()


def judge_promotion(e: PromotionEvidence) -> PromotionChecklist:
    """Every promotion check, critical first, in the order an operator reads them."""
    results = [
        not_promoted_yet(e),
        recovery_point(e),
        unapplied(e),
        old_primary_fenced(e),
        drbd_state(e),
        no_other_writer(e),
        load_balancer(e),
        lost_transactions(e),
        destructive_applied(
            e.nodes,
            e.destructive,
            {n.name: e.skipped_on(n.name) for n in e.nodes},
            trusted=e.delayed.name,
        ),
        errant_transactions(e),
        drbd_failover(e),
    ]
    return PromotionChecklist(
        results,
        e.gathered_at,
        "promotion",
        node=e.delayed.name,
        old_primary=e.old_primary.name if e.old_primary else None,
    )


# -- critical -------------------------------------------------------------------------------------


def not_promoted_yet(e: PromotionEvidence) -> CheckResult:
    """The delayed replica is still a replica: once promoted, there is nothing left to promote."""
    name = "not-promoted-yet"
    d = e.delayed
    if d.reachable and d.replica is None and d.read_only is False:
        return CheckResult(
            name,
            False,
            f"{d.name} is already a primary: writable, with no replication configured "
            "(promoted already)",
            f'set role = "primary" for {d.name} in drkit.toml (and the old primary\'s role), '
            "then `drkit status`",
        )
    if not d.reachable:
        return CheckResult(
            name,
            False,
            f"unknown: {d.name} does not answer: {d.unreachable_reason}",
            "bring it back first",
        )
    return CheckResult(name, True, f"{d.name} is still a replica")


def recovery_point(e: PromotionEvidence) -> CheckResult:  # noqa: PLR0911 - one return per verdict
    """The delayed replica is frozen at the point a recovery verified, and has not moved since."""
    name = "recovery-point"
    d, r = e.delayed, e.recovery
    if not d.reachable:
        return CheckResult(
            name, False, f"{d.name} does not answer: {d.unreachable_reason}", "bring it back first"
        )
    if r is None:
        return CheckResult(
            name,
            False,
            f"no recovery is recorded for {d.name}: nothing shows it stopped at a safe point",
            RECOVER_HINT,
        )
    if r.status != "done":
        said = f": {r.message}" if r.message else ""
        return CheckResult(
            name,
            False,
            f"the last recovery on {d.name} ({r.description}) is {r.status}{said}",
            "re-run the same `drkit recover` to finish it",
        )
    if r.verified is None:
        return CheckResult(
            name,
            False,
            f"the recovery on {d.name} ({r.description}) finished, but no verification of it "
            "is in the audit log",
            RECOVER_HINT,
        )
    if not r.verified:
        return CheckResult(
            name,
            False,
            f"the recovery on {d.name} ({r.description}) failed its verification: "
            f"{', '.join(r.failed_checks) or 'see the audit log'}",
            "look at `drkit status` and the recovery report, then recover again",
        )
    replica = d.replica
    if replica is not None and replica.applier_running:
        return CheckResult(
            name,
            False,
            f"the applier on {d.name} is running again: it is applying transactions past the "
            "verified point",
            "`drkit freeze`, then recover again",
        )
    now = str(d.executed)
    if r.executed_gtid is not None and now != r.executed_gtid:
        return CheckResult(
            name,
            False,
            f"{d.name} has executed {now or 'nothing'}, the recovery verified {r.executed_gtid}: "
            "it moved since",
            RECOVER_HINT,
        )
    state = "replication already reset" if replica is None else "applier stopped"
    return CheckResult(
        name, True, f"{d.name} is frozen at {now or '-'} ({state}), verified: {r.description}"
    )


def unapplied(e: PromotionEvidence) -> CheckResult:
    """Nothing the delayed replica received (or the primary wrote) is unapplied beyond the plan."""
    name = "unapplied"
    view = _stream_view(e)
    if isinstance(view, str):
        return CheckResult(name, False, f"cannot tell: {view}", _view_hint(view))
    d = e.delayed
    if view.stop is not None and view.applied >= view.stop:
        return CheckResult(
            name,
            False,
            f"{d.name} has applied {view.stream.name(view.stop)}, which the recovery meant to "
            "leave unapplied",
            RECOVER_HINT,
        )
    missing = view.missing()
    if not missing:
        return CheckResult(
            name,
            True,
            f"{d.name} has applied everything up to {view.stream.name(view.applied)} "
            f"({view.known_from()}); {view.intended()}",
        )
    count = sum(high - low + 1 for low, high in missing)
    spans = ", ".join(view.stream.span(low, high) for low, high in missing[:5])
    more = " ..." if len(missing) > 5 else ""
    after_index = ""
    if view.known_end > view.index_end:
        after_index = (
            f"; {view.known_end - view.index_end} of them were written after the last `drkit index`"
        )
    if view.stop is None:
        hint = (
            "the primary kept writing after the recovery: fence it (read-only), then "
            "`drkit index` and `drkit recover --until-time now` to apply the rest"
        )
    else:
        hint = "recover again: `drkit recover --before ...` with the same target"
    return CheckResult(
        name,
        False,
        f"{_transactions(count)} before the planned stop not applied on {d.name}: "
        f"{spans}{more}{after_index}",
        hint,
    )


def old_primary_fenced(e: PromotionEvidence) -> CheckResult:  # noqa: PLR0911 - one return per verdict
    """The old primary takes no writes: read-only, not answering, or in maint on the load balancer."""
    name = "old-primary-fenced"
    p = e.old_primary
    if p is None:
        return CheckResult(name, True, "no node has role primary: there is no old primary to fence")
    server = (
        e.loadbalancer.for_node(p.name)
        if e.loadbalancer is not None and e.loadbalancer.reachable
        else None
    )
    in_maint = server is not None and server.mode is Mode.MAINT
    if not p.reachable:
        if in_maint:
            return CheckResult(
                name,
                True,
                f"{p.name} cannot be asked ({p.unreachable_reason}) but is in maint on the "
                "load balancer",
            )
        if p.unreachable_kind is Unreachable.NETWORK:
            # Not answering is not evidence: it takes no writes only while it stays down.
            mapped = server is not None
            return CheckResult(
                name,
                False,
                f"unknown: {p.name} does not answer ({p.unreachable_reason}): nothing shows it "
                "takes no writes if it comes back",
                "`drkit promote` puts its load-balancer server in maint first; keep it down "
                "until it is rebuilt"
                if mapped
                else "keep it down for good (power it off), then `drkit promote --force`; or "
                "configure [loadbalancer] so promotion takes its server out",
                promote_fixes=mapped,
            )
        return CheckResult(
            name,
            False,
            f"cannot tell whether {p.name} takes writes: {p.unreachable_reason}",
            "fix the login (or put its server in maint on the load balancer), then check again",
        )
    if p.is_mariadb and p.read_only:
        return CheckResult(
            name,
            True,
            f"{p.name} is read-only; accounts with READ ONLY ADMIN (SUPER before 10.11) can "
            "still write: end such sessions",
        )
    if not p.is_mariadb and p.super_read_only:
        return CheckResult(name, True, f"{p.name} is super_read_only")
    if not p.is_mariadb and p.read_only:
        return CheckResult(
            name,
            True,
            f"{p.name} is read-only but not super_read_only: accounts with SUPER or "
            "CONNECTION_ADMIN can still write",
            f"`drkit promote` sets super_read_only; or run {_fence_sql(p)} on {p.name}",
        )
    if in_maint:
        return CheckResult(
            name,
            True,
            f"{p.name} is writable but its server is in maint on the load balancer: clients "
            "through it cannot reach it (direct connections still can)",
            f"`drkit promote` makes it read-only as well ({_fence_sql(p)})",
        )
    return CheckResult(
        name,
        False,
        f"{p.name} is writable (read_only is OFF) and the load balancer still sends it clients",
        f"`drkit promote` fences it as its first step ({_fence_sql(p)} on {p.name}); "
        "run that yourself to fence it now",
        promote_fixes=True,
    )


def drbd_state(e: PromotionEvidence) -> CheckResult:
    """DRBD cannot bring the old primary back: its state is known, with no split brain."""
    name = "drbd"
    if not e.drbd:
        return CheckResult(name, True, "no DRBD resource is configured")
    critical = [v.reason for ev in e.drbd for v in ev.verdicts if v.level is Level.CRITICAL]
    if critical:
        return CheckResult(
            name,
            False,
            "; ".join(critical),
            "resolve it before promoting: a split or unknown DRBD pair can start the old "
            "primary again, writable, beside the new one",
        )
    seen = [v.reason for ev in e.drbd for v in ev.verdicts]
    return CheckResult(name, True, "; ".join(seen))


def no_other_writer(e: PromotionEvidence) -> CheckResult:
    """No node besides the old primary (fenced above) and the delayed replica takes writes."""
    name = "no-other-writer"
    writable: list[NodeFacts] = []
    unknown: list[NodeFacts] = []
    down: list[NodeFacts] = []
    read_only: list[str] = []
    for n in e.others:
        if not n.reachable:
            (down if n.unreachable_kind is Unreachable.NETWORK else unknown).append(n)
        elif n.read_only:
            read_only.append(n.name)
        else:
            writable.append(n)
    if writable:
        fixes = "; ".join(f"{_fence_sql(n)} on {n.name}" for n in writable)
        return CheckResult(
            name,
            False,
            f"{', '.join(n.name for n in writable)} "
            f"{'is' if len(writable) == 1 else 'are'} writable: a second writer beside the "
            "new primary",
            f"make them read-only: {fixes}",
        )
    if unknown:
        return CheckResult(
            name,
            False,
            "cannot tell whether "
            + ", ".join(f"{n.name} ({n.unreachable_reason})" for n in unknown)
            + " takes writes",
            "fix the login, then check again",
        )
    if down:
        # Not answering is unknown, not read-only: it may come back writable.
        return CheckResult(
            name,
            False,
            f"unknown: {', '.join(n.name for n in down)} "
            f"{'does' if len(down) == 1 else 'do'} not answer: nothing shows "
            f"{'it takes' if len(down) == 1 else 'they take'} no writes",
            "bring it back (read-only) and check again; if it is down for good, "
            "`drkit promote --force`",
        )
    if read_only:
        return CheckResult(name, True, f"read-only: {', '.join(read_only)}")
    return CheckResult(name, True, "there is no other node")


def load_balancer(e: PromotionEvidence) -> CheckResult:
    """The load balancer is configured, answers, and knows both the old and the new server."""
    name = "loadbalancer"
    config = e.loadbalancer_config
    if config is None:
        return CheckResult(
            name,
            False,
            "no [loadbalancer] is configured: promotion could not move the applications' "
            "connections",
            "add [loadbalancer] to drkit.toml, or `drkit promote --force` and repoint the "
            "applications yourself",
        )
    view = e.loadbalancer
    if view is None or not view.reachable or view.reason is not None:
        reason = view.reason if view is not None and view.reason else "it was not asked"
        return CheckResult(
            name, False, f"the load balancer does not answer: {reason}", "start or fix HAProxy"
        )
    wanted = [e.delayed.name] + ([e.old_primary.name] if e.old_primary else [])
    unmapped = [node for node in wanted if node not in config.servers]
    if unmapped:
        return CheckResult(
            name,
            False,
            f"[loadbalancer] servers has no entry for {', '.join(unmapped)}",
            "map every node to its HAProxy server name in drkit.toml",
        )
    absent = [f"{config.servers[node]} ({node})" for node in wanted if view.for_node(node) is None]
    if absent:
        return CheckResult(
            name,
            False,
            f"backend {view.backend} has no server {', '.join(absent)}",
            "add it to the HAProxy configuration",
        )
    strangers = [
        f"{s.server} ({view.node_of(s.server) or 'not a drkit node'})"
        for s in view.writers
        if view.node_of(s.server) not in wanted
    ]
    if strangers:
        return CheckResult(
            name,
            False,
            f"backend {view.backend} also sends clients to {', '.join(strangers)}",
            "put those servers in maint: after the switch only the new primary may take writes",
        )
    modes = ", ".join(
        f"{node} ({config.servers[node]}) {state.mode.value}"
        for node in wanted
        if (state := view.for_node(node)) is not None
    )
    return CheckResult(name, True, f"haproxy backend {view.backend} answers: {modes}")


# -- advisory -------------------------------------------------------------------------------------


def lost_transactions(e: PromotionEvidence) -> CheckResult:
    """What promoting loses: transactions committed after the recovery's stop point."""
    name = "lost-transactions"
    view = _stream_view(e)
    if isinstance(view, str):
        return _advisory(name, False, f"cannot tell: {view}")
    if view.stop is None:
        skipped = f" except {', '.join(view.skipped_names)}" if view.skipped_names else ""
        return _advisory(
            name, True, f"the recovery applied everything known{skipped}: nothing is lost"
        )
    after = max(view.known_end - view.stop, 0)
    stop_name = view.stream.name(view.stop)
    if after == 0:
        return _advisory(
            name, True, f"nothing was committed after {stop_name}: promoting loses only it"
        )
    return _advisory(
        name,
        False,
        f"{_transactions(after)} committed after {stop_name} not on {e.delayed.name}: "
        "promoting it loses them",
        f"`drkit recover --skip {stop_name}` applies everything except it; or extract the "
        "rescued table (`drkit extract --table S.T`) and keep the primary",
    )


def errant_transactions(e: PromotionEvidence) -> CheckResult:
    """GTIDs on any other node the old primary never had (advisory)."""
    name = "errant-transactions"
    p = e.old_primary
    if p is None or not p.reachable:
        why = "no primary is configured" if p is None else f"{p.name} does not answer"
        return _advisory(name, False, f"cannot tell: {why}, so there is nothing to compare with")
    found, unknown = [], []
    for n in (*e.others, e.delayed):
        if not n.reachable:
            unknown.append(n.name)
            continue
        extra = errant_list(n, p)
        if extra:
            found.append(f"{n.name}: {'; '.join(extra)}")
    if found:
        return _advisory(
            name,
            False,
            f"transactions {p.name} never had: {' | '.join(found)}",
            "someone wrote to a replica directly; those rows exist nowhere else: inspect them",
        )
    tail = f" (not asked: {', '.join(unknown)})" if unknown else ""
    return _advisory(name, True, f"no node holds a transaction {p.name} lacks{tail}")


def drbd_failover(e: PromotionEvidence) -> CheckResult:
    """A DRBD standby with an up-to-date copy: a failover would start the old primary writable."""
    name = "drbd-failover"
    copies = []
    for ev in e.drbd:
        res = ev.state
        if res is None:
            continue
        if res.role != PRIMARY and res.volumes and all(v.disk == UP_TO_DATE for v in res.volumes):
            copies.append(f"this node ({res.label}, {res.role})")
        for peer in res.peers:
            if (
                peer.role != PRIMARY
                and peer.volumes
                and all(v.peer_disk == UP_TO_DATE for v in peer.volumes)
            ):
                copies.append(f"{peer.label} of {res.label} ({peer.role})")
    if not copies:
        return _advisory(
            name, True, "no DRBD standby holds an up-to-date copy a failover could start"
        )
    return _advisory(
        name,
        False,
        f"{'; '.join(copies)} holds an up-to-date copy of the old primary's data: a failover "
        "would start its server from it without the read_only set at runtime",
        "put the cluster resource in maintenance or disable it (pcs resource disable, "
        "crm resource stop) and set read_only in that server's option file",
    )


# -- helpers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _StreamView:
    """The primary's stream as the delayed replica, the index and the primary see it."""

    stream: Stream
    applied: int  # the delayed replica's last applied number
    index_end: int
    known_end: int  # the highest number anyone has seen
    sources: tuple[tuple[str, int], ...]
    stop: int | None  # the first number left unapplied on purpose
    skipped: frozenset[int]
    skipped_names: tuple[str, ...]

    def missing(self) -> list[tuple[int, int]]:
        """Numbers after `applied`, before the stop, not skipped: as (low, high) runs."""
        high = self.known_end if self.stop is None else min(self.known_end, self.stop - 1)
        runs: list[tuple[int, int]] = []
        low = self.applied + 1
        for skipped in sorted(n for n in self.skipped if low <= n <= high):
            if skipped > low:
                runs.append((low, skipped - 1))
            low = skipped + 1
        if low <= high:
            runs.append((low, high))
        return runs

    def known_from(self) -> str:
        return ", ".join(
            f"{label} {self.stream.name(n) if n else '-'}" for label, n in self.sources
        )

    def intended(self) -> str:
        parts = []
        if self.stop is not None:
            after = max(self.known_end - self.stop, 0)
            parts.append(
                f"left unapplied on purpose: {self.stream.name(self.stop)}"
                + (f" and the {after} after it" if after else "")
            )
        if self.skipped_names:
            parts.append(f"skipped: {', '.join(self.skipped_names)}")
        return "; ".join(parts) or "nothing left unapplied"


def _stream_view(e: PromotionEvidence) -> _StreamView | str:
    """The numbers the unapplied and lost checks count with, or why they cannot be known."""
    d, r = e.delayed, e.recovery
    if not d.reachable:
        return f"{d.name} does not answer"
    if e.index_end is None or not e.index_end.gtid:
        return "the index is empty"
    if r is None or r.mode is None:
        return f"no recovery on {d.name} recorded what it meant to leave unapplied"
    stream = Stream.of(e.index_end.gtid)
    index_end = stream.number(e.index_end.gtid) or 0
    sources = [("index", index_end)]
    p = e.old_primary
    if p is not None and p.reachable:
        sources.append((p.name, stream.last(str(p.executed))))
    if d.replica is not None:
        sources.append((f"{d.name} received", stream.last(d.replica.received_gtids)))
    stop = stream.number(r.stop_gtid) if r.stop_gtid else None
    skipped = frozenset(
        n for n in (stream.number(g) for g in r.skipped_ever if _is_gtid(g)) if n is not None
    )
    return _StreamView(
        stream=stream,
        applied=stream.last(str(d.executed)),
        index_end=index_end,
        known_end=max(n for _, n in sources),
        sources=tuple(sources),
        stop=stop,
        skipped=skipped,
        skipped_names=tuple(r.skipped),
    )


def _view_hint(problem: str) -> str:
    if "index" in problem:
        return "`drkit index`"
    if "recovery" in problem:
        return RECOVER_HINT
    return "bring it back, then check again"


def _is_gtid(text: str) -> bool:
    from drkit.model.gtid import looks_like_gtid

    return looks_like_gtid(text)


def _fence_sql(facts: NodeFacts) -> str:
    if facts.version is None:
        return "read_only = ON"
    return "; ".join(str(sql) for sql in for_version(facts.version).set_read_only(True))


def _transactions(count: int) -> str:
    return f"{count} transaction" + ("" if count == 1 else "s")


def _advisory(name: str, ok: bool, reason: str, hint: str = "") -> CheckResult:
    return CheckResult(name, ok, reason, hint, critical=False)
