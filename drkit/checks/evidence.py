"""Gather what the checks judge, in one place: nodes, DRBD, the load balancer, the index, the records.

Nothing here raises for something it cannot reach: an unreachable node, a failing DRBD command or a
silent HAProxy each become a value that says so, and the checks judge that.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from drkit.checks.promotion import DrbdEvidence, PromotionEvidence
from drkit.checks.record import RecoveryRecord, recovery_record
from drkit.config import Config, NodeConfig
from drkit.index.records import IndexedTransaction
from drkit.io import haproxy
from drkit.io.audit import read_audit
from drkit.io.drbd_probe import DrbdProbe, probe_all
from drkit.io.facts import gather_all
from drkit.model.facts import NodeFacts
from drkit.pitr import state as state_file

DEFAULT_TIMEOUT = 5.0


def gather_promotion_evidence(
    config: Config, delayed: NodeConfig, timeout: float = DEFAULT_TIMEOUT
) -> PromotionEvidence:
    """Facts of every node, DRBD, HAProxy, the index's ends and the last recovery, side by side."""
    lb_config = config.loadbalancer
    with ThreadPoolExecutor(max_workers=3) as pool:
        nodes_job = pool.submit(gather_all, config.nodes.values(), timeout)
        drbd_job = pool.submit(probe_all, config.drbd)
        view_job = pool.submit(haproxy.view, lb_config) if lb_config else None
        nodes = nodes_job.result()
        probes = drbd_job.result()
        view = view_job.result() if view_job else None
    primary = config.primary
    by_name = {facts.name: facts for facts in nodes}
    index_end, destructive = index_ends(config)
    old = by_name[primary.name] if primary and primary.name != delayed.name else None
    return PromotionEvidence(
        delayed=by_name[delayed.name],
        old_primary=old,
        others=tuple(
            f for f in nodes if f.name != delayed.name and (old is None or f.name != old.name)
        ),
        recovery=last_recovery(config, delayed.name),
        index_end=index_end,
        destructive=destructive,
        loadbalancer_config=lb_config,
        loadbalancer=view,
        drbd=tuple(drbd_evidence(probe) for probe in probes),
        gathered_at=time.time(),
    )


def gather_nodes(config: Config, timeout: float = DEFAULT_TIMEOUT) -> tuple[NodeFacts, ...]:
    return gather_all(config.nodes.values(), timeout)


def last_recovery(config: Config, node: str) -> RecoveryRecord | None:
    """The recovery state file and the audit log's verification, for `node`."""
    return recovery_record(state_file.load(config.folder), read_audit(config.audit_path), node)


def index_ends(config: Config) -> tuple[IndexedTransaction | None, IndexedTransaction | None]:
    """The index's last transaction and its latest destructive one (None, None without an index)."""
    if not config.index.path.exists():
        return None, None
    from drkit.index.store import IndexStore

    with IndexStore(config.index.path, readonly=True) as store:
        return store.latest(), store.latest_destructive()


def drbd_evidence(probe: DrbdProbe) -> DrbdEvidence:
    return DrbdEvidence(probe.resource, probe.verdicts(), probe.target)
