"""What `drkit guard --metrics` and `drkit index --follow --metrics` expose to Prometheus, gathered
at each scrape: the guard's heartbeat and findings, the index's lag behind the primary, each delayed
node's delay and applier, alert failures, the archive's size and its filesystem's free space."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from drkit.config import Config, NodeConfig
from drkit.errors import DrkitError, IndexBehind
from drkit.guard.state import guard_status
from drkit.index.position import last_applied
from drkit.index.records import IndexedTransaction
from drkit.index.store import IndexStore
from drkit.io.facts import gather_all
from drkit.model.coords import file_sequence
from drkit.model.facts import NodeFacts
from drkit.model.gtid import MariadbGtid, MariadbGtidPos, MysqlGtid, MysqlGtidSet, parse_gtid
from drkit.retention.schedule import OUTCOMES, PruneStats
from drkit.retention.summary import archive_summary

Gather = Callable[[Iterable[NodeConfig]], tuple[NodeFacts, ...]]
SCRAPE_TIMEOUT = 2.0  # seconds a scrape waits for a node before calling it down


class GuardView(Protocol):
    """What the metrics read of a running guard (drkit.guard.watch.Guard)."""

    @property
    def finding_counts(self) -> dict[tuple[str, str], int]: ...

    @property
    def freeze_counts(self) -> dict[tuple[str, str], int]: ...

    @property
    def alert_failures(self) -> int: ...


class PrunerView(Protocol):
    """What the metrics read of a prune schedule (drkit.retention.schedule.PruneSchedule)."""

    def stats(self) -> PruneStats: ...


class TopologyMetrics:
    """Builds the metric families of one topology at each scrape (never raises for a dead node)."""

    def __init__(
        self,
        config: Config,
        guard: GuardView | None = None,
        *,
        command: str = "guard",
        gather: Gather | None = None,
        pruner: PrunerView | None = None,
    ) -> None:
        self.config = config
        self.guard = guard
        self.pruner = pruner
        self.command = command
        self._gather = gather or (lambda nodes: gather_all(nodes, SCRAPE_TIMEOUT))

    def collect(self) -> list[Metric]:
        now = time.time()
        primary = self.config.primary
        nodes = [n for n in (primary, *self.config.delayed) if n is not None]
        facts = {f.name: f for f in self._gather(nodes)}
        families: list[Metric] = [
            _gauge("drkit_up", "1: this drkit process answers", 1, command=self.command)
        ]
        families.extend(self._guard_families(now))
        store = self._store()
        try:
            latest = store.latest() if store else None
            families.extend(
                self._index_families(
                    store, latest, facts.get(primary.name) if primary else None, now
                )
            )
            families.extend(self._delayed_families(store, latest, facts, now))
        finally:
            if store is not None:
                store.close()
        families.extend(self._archive_families())
        families.extend(self._prune_families())
        return families

    # -- guard ------------------------------------------------------------------------------

    def _guard_families(self, now: float) -> list[Metric]:
        status = guard_status(self.config.guard_state_path, now)
        state = status.state
        found: list[Metric] = [
            _gauge(
                "drkit_guard_running",
                "1 when a guard runs for this config (live pid, fresh heartbeat)",
                int(status.running),
            ),
        ]
        if state is not None:
            found += [
                _gauge(
                    "drkit_guard_heartbeat_timestamp_seconds",
                    "Unix time of the guard's last heartbeat",
                    state.heartbeat,
                ),
                _gauge(
                    "drkit_guard_pending_freezes",
                    "Freezes the guard is still retrying",
                    len(state.pending),
                ),
                _gauge(
                    "drkit_guard_windows_missed",
                    "Destructive transactions a delayed node applied before a freeze (kept in the state file)",
                    len(state.missed),
                ),
            ]
        if self.guard is None:
            return found
        findings = CounterMetricFamily(
            "drkit_guard_findings",
            "Destructive findings judged by this guard, by class and action (freeze or log)",
            labels=["class", "action"],
        )
        freezes = CounterMetricFamily(
            "drkit_guard_freezes",
            "Delayed nodes frozen by this guard, by the finding's class",
            labels=["class", "node"],
        )
        for labels, count in sorted(self.guard.finding_counts.items()):
            findings.add_metric(list(labels), count)
        for labels, count in sorted(self.guard.freeze_counts.items()):
            freezes.add_metric(list(labels), count)
        failures = CounterMetricFamily(
            "drkit_guard_alert_failures", "Alert deliveries that failed after every retry"
        )
        failures.add_metric([], self.guard.alert_failures)
        return [*found, findings, freezes, failures]

    # -- index ------------------------------------------------------------------------------

    def _store(self) -> IndexStore | None:
        if not self.config.index.path.exists():
            return None
        try:
            return IndexStore(self.config.index.path, readonly=True)
        except DrkitError:
            return None

    def _index_families(
        self,
        store: IndexStore | None,
        latest: IndexedTransaction | None,
        primary: NodeFacts | None,
        now: float,
    ) -> list[Metric]:
        if store is None:
            return [_gauge("drkit_index_ok", "1 when the index can be read", 0)]
        found: list[Metric] = [_gauge("drkit_index_ok", "1 when the index can be read", 1)]
        if latest is not None:
            found += [
                _gauge("drkit_index_last_id", "Id of the newest indexed transaction", latest.id),
                _gauge(
                    "drkit_index_last_transaction_timestamp_seconds",
                    "Commit time of the newest indexed transaction",
                    latest.timestamp,
                ),
            ]
        checkpoint = store.checkpoint()
        if primary is None or not primary.reachable or checkpoint is None:
            return found
        if primary.binlog is not None:
            files = file_sequence(primary.binlog.file) - file_sequence(checkpoint.file)
            found.append(
                _gauge(
                    "drkit_index_lag_files",
                    "Binlog files the primary has beyond the index's checkpoint",
                    max(files, 0),
                )
            )
            if files == 0:
                found.append(
                    _gauge(
                        "drkit_index_lag_bytes",
                        "Bytes of the primary's current binlog not indexed yet",
                        max(primary.binlog.pos - checkpoint.pos, 0),
                    )
                )
        behind = _transactions_behind(primary, latest)
        if behind is not None:
            found.append(
                _gauge(
                    "drkit_index_lag_transactions",
                    "Transactions the primary wrote that are not indexed yet",
                    behind,
                )
            )
            lag = max(now - latest.timestamp, 0.0) if behind and latest else 0.0
            found.append(
                _gauge(
                    "drkit_index_lag_seconds",
                    "Age of the newest indexed transaction while the index is behind (0 when current)",
                    lag,
                )
            )
        return found

    # -- delayed nodes ------------------------------------------------------------------------

    def _delayed_families(
        self,
        store: IndexStore | None,
        latest: IndexedTransaction | None,
        facts: dict[str, NodeFacts],
        now: float,
    ) -> list[Metric]:
        up = GaugeMetricFamily(
            "drkit_delayed_up", "1 when the delayed node answers", labels=["node"]
        )
        configured = GaugeMetricFamily(
            "drkit_delayed_configured_delay_seconds",
            "The delay drkit.toml asks for",
            labels=["node"],
        )
        delay = GaugeMetricFamily(
            "drkit_delayed_delay_seconds",
            "The delay the node runs with now (what a new transaction waits)",
            labels=["node"],
        )
        remaining = GaugeMetricFamily(
            "drkit_delayed_remaining_delay_seconds",
            "Seconds before the node applies the event it waits on (absent when it waits on none)",
            labels=["node"],
        )
        applier = GaugeMetricFamily(
            "drkit_delayed_applier_running",
            "1 when the applier (SQL thread) runs; 0 when frozen or stopped",
            labels=["node"],
        )
        receiver = GaugeMetricFamily(
            "drkit_delayed_receiver_running",
            "1 when the receiver (IO thread) runs",
            labels=["node"],
        )
        applied = GaugeMetricFamily(
            "drkit_delayed_applied_age_seconds",
            "Age of the newest indexed transaction the node has applied",
            labels=["node"],
        )
        for node in self.config.delayed:
            seen = facts.get(node.name)
            up.add_metric([node.name], int(bool(seen and seen.reachable)))
            if node.delay is not None:
                configured.add_metric([node.name], node.delay)
            if seen is None or not seen.reachable or seen.replica is None:
                continue
            replica = seen.replica
            delay.add_metric([node.name], replica.sql_delay)
            if replica.sql_remaining_delay is not None:
                remaining.add_metric([node.name], replica.sql_remaining_delay)
            applier.add_metric([node.name], int(replica.applier_running))
            receiver.add_metric([node.name], int(replica.receiver_running))
            if store is not None and latest is not None:
                try:
                    done, _ = last_applied(seen, store, latest)
                except IndexBehind:
                    done = None  # unknown: no sample rather than a wrong one
                if done is not None:
                    applied.add_metric([node.name], max(now - done.timestamp, 0.0))
        return [up, configured, delay, remaining, applier, receiver, applied]

    # -- archive ------------------------------------------------------------------------------

    def _archive_families(self) -> list[Metric]:
        summary = archive_summary(self.config)
        found: list[Metric] = [
            _gauge("drkit_archive_bytes", "Bytes of archived binlog files", summary.bytes),
            _gauge("drkit_archive_files", "Archived binlog files", summary.files),
            _gauge(
                "drkit_archive_min_free_ratio",
                "[retention] min_free as a fraction",
                summary.min_free,
            ),
            _gauge("drkit_retention_keep_seconds", "[retention] keep", summary.keep),
        ]
        if summary.oldest_time is not None:
            found.append(
                _gauge(
                    "drkit_archive_oldest_transaction_timestamp_seconds",
                    "Commit time of the oldest indexed transaction",
                    summary.oldest_time,
                )
            )
        if summary.disk_free is not None and summary.disk_total:
            found += [
                _gauge(
                    "drkit_archive_disk_free_bytes",
                    "Free bytes on the archive's filesystem",
                    summary.disk_free,
                ),
                _gauge(
                    "drkit_archive_disk_total_bytes",
                    "Size of the archive's filesystem",
                    summary.disk_total,
                ),
            ]
        return found

    # -- scheduled prunes ------------------------------------------------------------------

    def _prune_families(self) -> list[Metric]:
        if self.pruner is None:
            return []
        stats = self.pruner.stats()
        runs = CounterMetricFamily(
            "drkit_retention_prunes",
            "Scheduled prunes of this process by outcome (done; skipped: a plan held the "
            "engine lock; failed; stopped: the process stopped in the middle)",
            labels=["outcome"],
        )
        for outcome in OUTCOMES:
            runs.add_metric([outcome], stats.runs.get(outcome, 0))
        found: list[Metric] = [
            _gauge(
                "drkit_retention_prune_interval_seconds",
                "[retention] interval: seconds between scheduled prunes",
                stats.interval,
            ),
            runs,
            _counter(
                "drkit_retention_pruned_rows",
                "Index rows removed by scheduled prunes",
                stats.rows_total,
            ),
            _counter(
                "drkit_retention_pruned_files",
                "Archived binlog files removed by scheduled prunes",
                stats.files_total,
            ),
            _counter(
                "drkit_retention_pruned_bytes",
                "Bytes of archived binlog files removed by scheduled prunes",
                stats.bytes_total,
            ),
            _gauge(
                "drkit_retention_last_prune_rows",
                "Index rows the last completed prune removed",
                stats.last_rows,
            ),
            _gauge(
                "drkit_retention_last_prune_bytes",
                "Archive bytes the last completed prune freed",
                stats.last_bytes,
            ),
        ]
        if stats.last_done_at is not None:
            found.append(
                _gauge(
                    "drkit_retention_last_prune_timestamp_seconds",
                    "Unix time the last scheduled prune completed",
                    stats.last_done_at,
                )
            )
        return found


def _transactions_behind(primary: NodeFacts, latest: IndexedTransaction | None) -> int | None:
    """How many transactions the primary wrote after the newest indexed one, in its GTID stream."""
    if latest is None or latest.gtid is None:
        return None
    sample = parse_gtid(latest.gtid)
    if isinstance(sample, MariadbGtid):
        last = MariadbGtidPos.parse(
            primary.gtid_binlog_pos_text or primary.gtid_executed_text
        ).last_in_domain(sample.domain)
        return None if last is None else max(last.seq - sample.seq, 0)
    assert isinstance(sample, MysqlGtid)
    for uuid, spans in MysqlGtidSet.parse(primary.gtid_executed_text).intervals:
        if uuid == sample.uuid and spans:
            return max(spans[-1][1] - sample.number, 0)
    return None


def _gauge(name: str, documentation: str, value: float, **labels: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    family.add_metric(list(labels.values()), value)
    return family


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation)
    family.add_metric([], value)
    return family
