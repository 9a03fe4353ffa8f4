"""The Prometheus endpoint without a server: families built from an index, an archive, a guard's
state file and fake node facts, served by prometheus_client and scraped over loopback."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from drkit import config as config_module
from drkit.config import Config, NodeConfig, Role
from drkit.errors import UsageError
from drkit.guard.metrics import TopologyMetrics
from drkit.guard.record import GuardRun
from drkit.index.store import IndexStore, NewTransaction
from drkit.io.metrics import parse_address, serve
from drkit.model.coords import BinlogCoord
from drkit.model.facts import NodeFacts, Unreachable
from drkit.model.replica import ReplicaStatus
from drkit.model.version import ServerVersion
from drkit.retention.plan import ArchivedFile, PrunePlan
from drkit.retention.run import PruneReport
from drkit.retention.schedule import PruneSchedule
from tests.support.configs import TWO_NODES

CONFIG = (
    TWO_NODES
    + """
[retention]
keep = "3d"
min_free = "15%"
"""
)
NOW = time.time()


def _tx(n: int) -> NewTransaction:
    return NewTransaction(
        gtid=f"0-1-{n}",
        file="bin.000002",
        start_pos=4 + 100 * n,
        end_pos=104 + 100 * n,
        timestamp=int(NOW) - 600 + n,
        server_id=1,
        kind="dml",
        tables=(),
        statement=f"statement {n}",
        destructive=None,
        row_events=(),
    )


@pytest.fixture
def config(tmp_path: Path) -> Config:
    (tmp_path / "drkit.toml").write_text(CONFIG)
    loaded = config_module.load(tmp_path / "drkit.toml")
    with IndexStore(loaded.index.path) as store:
        store.append([_tx(n) for n in range(1, 6)], BinlogCoord("bin.000002", 604))
    loaded.index.archive_dir.mkdir()
    (loaded.index.archive_dir / "bin.000001").write_bytes(b"x" * 1000)
    (loaded.index.archive_dir / "bin.000002").write_bytes(b"x" * 604)
    (tmp_path / "drkit-guard.json").write_text(
        json.dumps({"pid": 1, "started_at": NOW, "heartbeat": NOW - 1, "watching_since": NOW})
    )
    return loaded


def _facts(*, delayed_up: bool = True, applier: bool = True) -> Any:
    def gather(nodes: Iterable[NodeConfig]) -> tuple[NodeFacts, ...]:
        found = []
        for node in nodes:
            if node.role is Role.DELAYED and not delayed_up:
                found.append(NodeFacts.unreachable(node, Unreachable.NETWORK, "refused", NOW))
                continue
            primary = node.role is Role.PRIMARY
            replica = None
            if not primary:
                replica = ReplicaStatus.from_row(
                    {
                        "Slave_IO_Running": "Yes",
                        "Slave_SQL_Running": "Yes" if applier else "No",
                        "SQL_Delay": 3600,
                        "SQL_Remaining_Delay": 1234,
                    }
                )
            found.append(
                NodeFacts(
                    name=node.name,
                    role=node.role,
                    address=node.address,
                    configured_delay=node.delay,
                    gathered_at=NOW,
                    reachable=True,
                    version=ServerVersion.parse("10.11.6-MariaDB", ""),
                    binlog=BinlogCoord("bin.000002", 904) if primary else None,
                    gtid_executed_text="0-1-8" if primary else "0-1-3",
                    gtid_binlog_pos_text="0-1-8" if primary else "",
                    replica=replica,
                )
            )
        return tuple(found)

    return gather


class FakeGuard:
    """The guard's view as the metrics read it, filled through a real (bounded) GuardRun."""

    alert_failures = 2

    def __init__(self) -> None:
        # Kept: one finding in full; counted: all three (the metrics must not lose the rest).
        self.run = GuardRun(kept=1)
        self.run.add(
            {
                "findings": [
                    {"class": "drop_table", "action": "freeze"},
                    {"class": "mass_delete", "action": "log"},
                ],
                "action": "frozen",
                "nodes": [{"node": "delayed", "action": "frozen"}],
            },
            ["delayed"],
        )
        log_only = {"findings": [{"class": "truncate", "action": "log"}], "action": "logged"}
        self.run.add({**log_only, "nodes": []}, [])
        assert len(self.run.findings) == 1 and self.run.dropped == 1

    @property
    def finding_counts(self) -> dict[tuple[str, str], int]:
        return dict(self.run.by_class)

    @property
    def freeze_counts(self) -> dict[tuple[str, str], int]:
        return dict(self.run.freezes)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.fixture
def scrape(config: Config) -> Iterator[Any]:
    servers = []

    def run(metrics: TopologyMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        server = serve("127.0.0.1:0", metrics.collect)
        servers.append(server)
        url = f"http://127.0.0.1:{server.port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            return _samples(response.read().decode())

    yield run
    for server in servers:
        server.stop()


def test_a_scrape_over_loopback_shows_the_topology(config: Config, scrape: Any) -> None:
    got = scrape(TopologyMetrics(config, FakeGuard(), gather=_facts()))
    node = (("node", "delayed"),)
    assert got[("drkit_metrics_collect_ok", ())] == 1
    assert got[("drkit_up", (("command", "guard"),))] == 1
    assert got[("drkit_guard_heartbeat_timestamp_seconds", ())] == pytest.approx(NOW - 1)
    assert got[("drkit_guard_pending_freezes", ())] == 0
    # The index: newest #5 (0-1-5); the primary wrote up to 0-1-8, 300 bytes past the checkpoint.
    assert got[("drkit_index_last_id", ())] == 5
    assert got[("drkit_index_lag_transactions", ())] == 3
    assert got[("drkit_index_lag_bytes", ())] == 300
    assert got[("drkit_index_lag_files", ())] == 0
    late = time.time() - NOW + 1  # NOW is when this module loaded; ages grow from there
    assert 594 <= got[("drkit_index_lag_seconds", ())] <= 595 + late
    # The delayed node: delay, remaining delay, threads, and the age of what it applied (#3).
    assert got[("drkit_delayed_up", node)] == 1
    assert got[("drkit_delayed_configured_delay_seconds", node)] == 3600
    assert got[("drkit_delayed_delay_seconds", node)] == 3600
    assert got[("drkit_delayed_remaining_delay_seconds", node)] == 1234
    assert got[("drkit_delayed_applier_running", node)] == 1
    assert got[("drkit_delayed_receiver_running", node)] == 1
    assert 596 <= got[("drkit_delayed_applied_age_seconds", node)] <= 597 + late
    # Findings and freezes by class, alert failures (counters end in _total).
    assert got[("drkit_guard_findings_total", (("action", "freeze"), ("class", "drop_table")))] == 1
    assert got[("drkit_guard_findings_total", (("action", "log"), ("class", "mass_delete")))] == 1
    assert got[("drkit_guard_findings_total", (("action", "log"), ("class", "truncate")))] == 1
    assert got[("drkit_guard_freezes_total", (("class", "drop_table"), ("node", "delayed")))] == 1
    assert got[("drkit_guard_alert_failures_total", ())] == 2
    # The archive and its disk.
    assert got[("drkit_archive_bytes", ())] == 1604
    assert got[("drkit_archive_files", ())] == 2
    assert got[("drkit_archive_min_free_ratio", ())] == 0.15
    assert got[("drkit_retention_keep_seconds", ())] == 3 * 86400
    assert got[("drkit_archive_oldest_transaction_timestamp_seconds", ())] == int(NOW) - 599
    assert (
        0
        < got[("drkit_archive_disk_free_bytes", ())]
        <= got[("drkit_archive_disk_total_bytes", ())]
    )


def test_a_dead_or_frozen_delayed_node_reads_as_such(config: Config, scrape: Any) -> None:
    node = (("node", "delayed"),)
    frozen = scrape(TopologyMetrics(config, gather=_facts(applier=False), command="index"))
    assert frozen[("drkit_delayed_applier_running", node)] == 0
    assert ("drkit_guard_findings_total", ()) not in frozen  # no guard in this process
    assert frozen[("drkit_up", (("command", "index"),))] == 1
    down = scrape(TopologyMetrics(config, gather=_facts(delayed_up=False)))
    assert down[("drkit_delayed_up", node)] == 0
    assert ("drkit_delayed_applier_running", node) not in down  # unknown is not "running"


def test_scheduled_prunes_are_counted(config: Config, scrape: Any) -> None:
    plan = PrunePlan(60.0, 0.0, 41, 40, (ArchivedFile("bin.000001", 1, 4096),), ())
    schedule = PruneSchedule(lambda _b: PruneReport(plan, 40, ("bin.000001",), 4096), 900.0)
    idle = scrape(TopologyMetrics(config, gather=_facts(), pruner=schedule))
    assert idle[("drkit_retention_prune_interval_seconds", ())] == 900
    assert idle[("drkit_retention_prunes_total", (("outcome", "done"),))] == 0
    assert ("drkit_retention_last_prune_timestamp_seconds", ()) not in idle  # none yet
    schedule.run_once()
    schedule.run_once()
    got = scrape(TopologyMetrics(config, gather=_facts(), pruner=schedule))
    assert got[("drkit_retention_prunes_total", (("outcome", "done"),))] == 2
    assert got[("drkit_retention_prunes_total", (("outcome", "failed"),))] == 0
    assert got[("drkit_retention_pruned_rows_total", ())] == 80
    assert got[("drkit_retention_pruned_files_total", ())] == 2
    assert got[("drkit_retention_pruned_bytes_total", ())] == 8192
    assert got[("drkit_retention_last_prune_rows", ())] == 40
    assert got[("drkit_retention_last_prune_bytes", ())] == 4096
    assert abs(got[("drkit_retention_last_prune_timestamp_seconds", ())] - time.time()) < 60


def test_a_failing_collect_still_answers(config: Config, scrape: Any) -> None:
    def broken(nodes: Iterable[NodeConfig]) -> tuple[NodeFacts, ...]:
        raise RuntimeError("boom")

    got = scrape(TopologyMetrics(config, gather=broken))
    assert got == {("drkit_metrics_collect_ok", ()): 0}


@pytest.mark.parametrize("text", ["9108", "host:", ":9108", "h:99999", "h:port"])
def test_metrics_address_refused(text: str) -> None:
    with pytest.raises(UsageError, match="HOST:PORT"):
        parse_address(text)


def test_metrics_address_parsed() -> None:
    assert parse_address("127.0.0.1:9108") == ("127.0.0.1", 9108)
    assert parse_address("[::1]:9108") == ("::1", 9108)
