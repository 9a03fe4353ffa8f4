"""Run a playbook step by step against a fresh sandbox (or a configured topology) and measure it.

Measured: time to detect (disaster committed -> the index flags it), time to freeze (disaster ->
applier stopped), RTO (disaster -> the last recovery step done), RPO (transactions that should
have survived but are missing on the recovered node; must be 0), and every verification.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from drkit import config as config_module
from drkit.config import Config, NodeConfig, PasswordSource
from drkit.drill.playbook import CHANGING_KINDS, Playbook, PlaybookError, StepSpec
from drkit.errors import DrkitError, RefusedError
from drkit.io.mysql import Session, connect
from drkit.service import Operations

Report = Callable[[str], None]
StepHook = Callable[["StepSpec", "StepResult | None"], None]  # None when the step starts


class StepFailed(DrkitError):
    """A drill step did not do what the playbook expects."""


@dataclass
class StepResult:
    number: int
    kind: str
    title: str
    line: int
    ok: bool = False
    seconds: float = 0.0
    detail: str = ""
    error: str | None = None
    skipped: bool = False
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "kind": self.kind,
            "title": self.title,
            "line": self.line,
            "ok": self.ok,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "detail": self.detail,
            "error": self.error,
            "data": self.data,
        }


@dataclass
class Metrics:
    time_to_detect: float | None = None
    time_to_freeze: float | None = None
    rto: float | None = None
    rpo: int | None = None
    verifications: int = 0
    verifications_failed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "time_to_detect": _round(self.time_to_detect),
            "time_to_freeze": _round(self.time_to_freeze),
            "rto": _round(self.rto),
            "rpo": self.rpo,
            "verifications": self.verifications,
            "verifications_failed": self.verifications_failed,
        }


@dataclass
class DrillReport:
    playbook: str
    path: str
    description: str
    topology: str
    parameters: dict[str, Any]
    started_at: float
    seconds: float = 0.0
    steps: list[StepResult] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return (
            self.error is None
            and all(step.ok or step.skipped for step in self.steps)
            and (self.metrics.rpo in (None, 0))
            and self.metrics.verifications_failed == 0
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "playbook": self.playbook,
            "path": self.path,
            "description": self.description,
            "topology": self.topology,
            "parameters": self.parameters,
            "started_at": self.started_at,
            "seconds": round(self.seconds, 3),
            "passed": self.passed,
            "error": self.error,
            "metrics": self.metrics.to_json(),
            "steps": [step.to_json() for step in self.steps],
        }


@dataclass(frozen=True)
class RunOptions:
    work_dir: Path
    config: Config | None = None  # None: the playbook's own sandbox
    keep: bool = False
    allow_destructive: str | None = None


class DrillRunner:
    """Runs one playbook; `run()` never raises for a failing step, it records it."""

    def __init__(
        self,
        playbook: Playbook,
        options: RunOptions,
        report: Report = lambda _: None,
        on_step: StepHook | None = None,
    ) -> None:
        self.playbook = playbook
        self.options = options
        self.say = report
        self.on_step = on_step
        self.config: Config | None = options.config
        self.sandbox_dir: Path | None = None
        self.snapshots: dict[str, dict[str, tuple[int, int] | None]] = {}
        self.disaster_at: float | None = None
        self.disaster_floor: int = 0  # highest index id before the disaster
        self.recovery_target: dict[str, Any] | None = None
        self.metrics = Metrics()

    # -- the run ------------------------------------------------------------------------------

    def preflight(self) -> None:
        """Refuse before anything runs: destructive steps on a real topology need its name."""
        if self.options.config is None:
            if not self.playbook.uses_sandbox:
                raise PlaybookError(
                    f"{self.playbook.path}: this playbook has no sandbox step: run it on a topology with --config"
                )
            return
        config = self.options.config
        destructive = self.playbook.destructive_steps
        if destructive and self.options.allow_destructive != config.topology_name:
            lines = ", ".join(f"{s.kind} (line {s.line})" for s in destructive)
            raise RefusedError(
                f"{self.playbook.path} damages data ({lines}) and would run on the configured topology "
                f"{config.topology_name!r}; nothing was run",
                hint=f"only on a topology you mean to damage: --allow-destructive {config.topology_name}",
            )
        kills = [s for s in destructive if s.kind == "kill"]
        if kills:
            raise PlaybookError(
                f"{self.playbook.path}:{kills[0].line}: kill stops a sandbox process and needs the playbook's sandbox"
            )

    def changing_steps(self) -> list[StepSpec]:
        return [step for step in self.playbook.steps if step.kind in CHANGING_KINDS]

    def run(self) -> DrillReport:
        self.preflight()
        report = DrillReport(
            playbook=self.playbook.name,
            path=str(self.playbook.path),
            description=self.playbook.description,
            topology=self._topology_label(),
            parameters=dict(self.playbook.parameters),
            started_at=time.time(),
        )
        started = time.monotonic()
        total = len(self.playbook.steps)
        failed = False
        try:
            for number, spec in enumerate(self.playbook.steps, start=1):
                result = StepResult(number, spec.kind, spec.title, spec.line)
                report.steps.append(result)
                if failed:
                    result.skipped = True
                    result.detail = "not run: an earlier step failed"
                    continue
                self.say(f"[{number}/{total}] {spec.title} ...")
                if self.on_step is not None:
                    self.on_step(spec, None)
                step_started = time.monotonic()
                try:
                    detail, data = self._run_step(spec)
                    result.ok, result.detail, result.data = True, detail, data
                except DrkitError as exc:
                    result.error = exc.message + (f" ({exc.hint})" if exc.hint else "")
                    failed = True
                result.seconds = time.monotonic() - step_started
                if self.on_step is not None:
                    self.on_step(spec, result)
                mark = "ok" if result.ok else "FAILED"
                self.say(
                    f"[{number}/{total}] {spec.title}: {mark} in {result.seconds:.2f}s"
                    + (f": {result.detail}" if result.detail else "")
                    + (f": {result.error}" if result.error else "")
                )
        finally:
            report.metrics = self.metrics
            report.seconds = time.monotonic() - started
            report.topology = self._topology_label()
            if self.sandbox_dir is not None and not self.options.keep:
                self._teardown()
        return report

    def _topology_label(self) -> str:
        if self.sandbox_dir is not None:
            return f"sandbox {self.sandbox_dir}"
        if self.config is not None:
            return f"{self.config.topology_name} ({self.config.path})"
        return "sandbox (not started)"

    def _teardown(self) -> None:
        from drkit.sandbox import topology

        assert self.sandbox_dir is not None
        try:
            topology.down(self.sandbox_dir, purge=True)
        except DrkitError as exc:
            self.say(f"tearing the sandbox down failed: {exc.message}")

    # -- steps --------------------------------------------------------------------------------

    def _run_step(self, spec: StepSpec) -> tuple[str, dict[str, Any]]:
        handler = getattr(self, f"_step_{spec.kind}")
        outcome: tuple[str, dict[str, Any]] = handler(spec.params)
        return outcome

    def _ops(self) -> Operations:
        if self.config is None:
            raise StepFailed("no topology yet: the playbook must start with a sandbox step")
        return Operations(self.config, command=f"drkit drill run {self.playbook.path.name}")

    def _step_sandbox(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if self.options.config is not None:
            return f"using the configured topology {self.options.config.topology_name}", {}
        from drkit.sandbox import topology

        directory = self.options.work_dir / "sandbox"
        options = {str(k): str(v) for k, v in params.get("options", {}).items()}
        result = topology.up(
            directory, delay=params["delay"], haproxy=params["haproxy"], server_options=options
        )
        self.sandbox_dir = result.layout.root
        self.config = config_module.load(result.layout.config_file)
        return (
            f"primary, replica and delayed (delay {params['delay']}s) in {result.seconds:.1f}s",
            {"dir": str(self.sandbox_dir)},
        )

    def _step_workload(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from drkit.dialect.workload import drill_rows, drill_statuses, drill_table, drill_update

        rng = random.Random(params["seed"])  # noqa: S311 - a reproducible workload, not a secret
        tables: dict[str, int] = {str(k): int(v) for k, v in params["tables"].items()}
        session = self._writer()
        try:
            for table, rows in tables.items():
                for sql in drill_table(table):
                    session.run(sql)
                for first in range(0, rows, 500):
                    chunk = [
                        (
                            rng.randint(1, 50),
                            rng.randint(100, 99_999),
                            rng.choice(drill_statuses()),
                            f"row {first + i + 1}",
                        )
                        for i in range(min(500, rows - first))
                    ]
                    session.run(drill_rows(table, first + 1, chunk))
            names = [t for t, rows in tables.items() if rows > 0]
            for _ in range(params["transactions"]):
                if not names:
                    break
                table = rng.choice(names)
                session.run(
                    drill_update(
                        table,
                        rng.randint(1, tables[table]),
                        rng.randint(100, 99_999),
                        rng.randint(0, 3),
                    )
                )
        finally:
            session.close()
        total = sum(tables.values())
        return (
            f"{len(tables)} tables, {total} rows, {params['transactions']} update transactions",
            {"tables": tables},
        )

    def _step_snapshot(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        taken = {table: self._fingerprint(params["node"], table) for table in params["tables"]}
        self.snapshots[params["name"]] = taken
        shown = ", ".join(f"{t}: {v[0] if v else 'missing'} rows" for t, v in taken.items())
        return shown, {"tables": {t: list(v) if v else None for t, v in taken.items()}}

    def _step_disaster(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from drkit.dialect.sql import Sql

        self.disaster_floor = self._latest_index_id()
        statements = params["sql"] if isinstance(params["sql"], list) else [params["sql"]]
        session = self._writer(params["node"])
        try:
            for text in statements:
                session.run(Sql(str(text)))
        finally:
            session.close()
        self.disaster_at = time.monotonic()
        return "; ".join(str(s) for s in statements), {}

    def _step_kill(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from drkit.sandbox import topology

        if self.sandbox_dir is None:
            raise StepFailed("kill needs the playbook's sandbox")
        topology.kill_node(self.sandbox_dir, params["node"])
        return f"{params['node']} killed (SIGKILL)", {}

    def _step_index(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from drkit.index.indexer import Indexer

        indexer = Indexer(self._config())
        try:
            result = indexer.run_once()
        finally:
            indexer.close()
        return f"{result.new} new transactions, {result.total} in the index", {
            "new": result.new,
            "total": result.total,
        }

    def _step_detect(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from drkit.index.indexer import Indexer
        from drkit.index.store import Filters

        deadline = time.monotonic() + float(params["within"])
        wanted = params["class"]
        while True:
            indexer = Indexer(self._config())
            try:
                indexer.run_once()
            finally:
                indexer.close()
            found = [
                record
                for record in self._ops().search(Filters(destructive=True, limit=20))
                if record.id > self.disaster_floor
                and record.destructive
                and record.destructive.category == wanted
            ]
            if found:
                record = found[-1]
                if self.disaster_at is not None:
                    self.metrics.time_to_detect = time.monotonic() - self.disaster_at
                self.recovery_target = record.to_json()
                return (
                    f"found #{record.id} {record.gtid} ({wanted}): {record.destructive.reason if record.destructive else ''}",
                    {"transaction": record.to_json()},
                )
            if time.monotonic() > deadline:
                raise StepFailed(f"no {wanted} finding within {params['within']}s of the disaster")
            time.sleep(0.2)

    def _step_freeze(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ops = self._ops()
        report = ops.freeze(node=params.get("node"))
        if self.disaster_at is not None:
            self.metrics.time_to_freeze = time.monotonic() - self.disaster_at
        state = "froze" if report.was_running else "was already frozen"
        return f"{report.node} {state}; {report.pending} transactions pending", report.to_json()

    def _step_recover(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ops = self._ops()
        skips = params.get("skip")
        skip_list = (
            tuple(str(s) for s in (skips if isinstance(skips, list) else [skips]))
            if skips is not None
            else ()
        )
        prepared = ops.prepare_recovery(
            before=str(params["before"]) if params.get("before") is not None else None,
            skips=skip_list,
            until=str(params["until"]) if params.get("until") is not None else None,
            until_time=str(params["until_time"]) if params.get("until_time") else None,
            through=_targets(params.get("apply_through")),
            strategy=params["strategy"],
            parallel=params["parallel"],
            node=params.get("node"),
        )
        expected = params.get("expect_strategy")
        if expected and prepared.plan.strategy != expected:
            raise StepFailed(
                f"expected strategy {expected}, the plan chose {prepared.plan.strategy}: {prepared.plan.strategy_reason}"
            )
        result = ops.run_recovery(prepared, timeout=float(params["timeout"]))
        self._mark_recovered()
        self.metrics.rpo = self._rpo(prepared)
        failed = [check for check in result.verification if not check.ok]
        if failed:
            raise StepFailed(
                "verification failed: " + "; ".join(f"{c.name}: {c.detail}" for c in failed)
            )
        return (
            f"{result.strategy}: {result.applied} transactions applied"
            + (f", skipped {', '.join(result.skipped)}" if result.skipped else "")
            + f"; stopped at {result.executed_gtid}"
        ), result.to_json()

    def _step_extract(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ops = self._ops()
        plan = _call(ops, "plan_extract", params["table"], params.get("into"))
        result = _call(ops, "extract", plan)
        self._mark_recovered()
        data = result.to_json()
        if data.get("verified") is False or data.get("ok") is False:
            raise StepFailed(f"extract did not verify: {data}")
        return f"{params['table']} copied back to the primary" + (
            f" as {params['into']}" if params.get("into") else ""
        ), data

    def _step_check(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        checklist = _call(self._ops(), "check_promotion")
        data = checklist.to_json()
        passed = bool(checklist.ok)
        failing = [r for r in checklist.results if not r.ok and getattr(r, "critical", True)]
        summary = (
            "all critical checks pass"
            if passed
            else "refused: " + "; ".join(f"{r.name}: {r.reason}" for r in failing)
        )
        if passed != (params["expect"] == "pass"):
            raise StepFailed(f"expected the check to {params['expect']}, but {summary}")
        return summary, data

    def _step_promote(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ops = self._ops()
        plan = _call(ops, "plan_promotion")
        result = _call(ops, "promote", plan)
        self._mark_recovered()
        return "promoted the delayed replica", result.to_json()

    def _step_verify(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.metrics.verifications += 1
        try:
            if params.get("snapshot"):
                return self._verify_snapshot(params)
            return self._verify_sql(params)
        except StepFailed:
            self.metrics.verifications_failed += 1
            raise

    def _verify_snapshot(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        snapshot = self.snapshots[params["snapshot"]]
        tables = params.get("tables") or list(snapshot)
        # rename: compare a snapshotted table with a copy under another name (an extract --into).
        renamed = {str(k): str(v) for k, v in (params.get("rename") or {}).items()}
        mismatched = []
        compared = {}
        for table in tables:
            if table not in snapshot:
                raise StepFailed(f"snapshot {params['snapshot']!r} has no table {table}")
            now = self._fingerprint(params["node"], renamed.get(table, table))
            compared[table] = {"expected": snapshot[table], "found": now}
            if now != snapshot[table]:
                mismatched.append(
                    f"{table} on {params['node']}: expected {_describe(snapshot[table])}, found {_describe(now)}"
                )
        if mismatched:
            raise StepFailed("; ".join(mismatched))
        return f"{', '.join(tables)} on {params['node']} match snapshot {params['snapshot']!r}", {
            "compared": compared
        }

    def _verify_sql(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from drkit.dialect.sql import Sql

        statements = params["sql"] if isinstance(params["sql"], list) else [params["sql"]]
        session = (
            self._through_loadbalancer()
            if params.get("through") == "loadbalancer"
            else self._session(params["node"])
        )
        try:
            rows: list[dict[str, Any]] = []
            for text in statements:
                rows = session.rows(Sql(str(text)))
        finally:
            session.close()
        value = next(iter(rows[0].values())) if rows else None
        expected = params["expect"]
        if _normalize(value) != _normalize(expected):
            raise StepFailed(f"{statements[-1]!r} returned {value!r}, expected {expected!r}")
        where = "through the load balancer" if params.get("through") else f"on {params['node']}"
        return f"{statements[-1]} = {value!r} {where}", {"value": _normalize(value)}

    def _step_resume(self, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ops = self._ops()
        plan = ops.plan_resume(
            node=params.get("node"), through=_targets(params.get("apply_through"))
        )
        facts = ops.resume(plan, node=params.get("node"))
        delay = facts.replica.sql_delay if facts.replica else None
        return f"replication resumed with delay {delay}s", {"delay": delay}

    # -- helpers --------------------------------------------------------------------------------

    def _config(self) -> Config:
        if self.config is None:
            raise StepFailed("no topology yet: the playbook must start with a sandbox step")
        return self.config

    def _session(self, node: str) -> Session:
        return connect(self._config().node(node))

    def _writer(self, node: str = "primary") -> Session:
        """Writes go through the application account in a sandbox, like the application's would."""
        config = self._config()
        target = config.node(node)
        if self.sandbox_dir is not None:
            from drkit.sandbox.state import load_state

            state = load_state(self.sandbox_dir / "sandbox.json")
            if state is not None:
                target = replace(
                    target,
                    user=state.application.user,
                    password=PasswordSource(literal=state.application.password),
                )
        return connect(target)

    def _through_loadbalancer(self) -> Session:
        config = self._config()
        lb = config.loadbalancer
        if lb is None or not lb.frontend:
            raise StepFailed(
                'verify through the load balancer needs [loadbalancer] frontend = "host:port"'
            )
        host, _, port = lb.frontend.rpartition(":")
        base = config.require_primary()
        node = NodeConfig("loadbalancer", base.role, host, int(port), base.user, base.password)
        if self.sandbox_dir is not None:
            from drkit.sandbox.state import load_state

            state = load_state(self.sandbox_dir / "sandbox.json")
            if state is not None:
                node = replace(
                    node,
                    user=state.application.user,
                    password=PasswordSource(literal=state.application.password),
                )
        return connect(node)

    def _fingerprint(self, node: str, table: str) -> tuple[int, int] | None:
        session = self._session(node)
        try:
            d = session.dialect
            exists = session.one(d.table_exists(table))
            if not exists or not int(exists["n"]):
                return None
            count = session.one(d.count_rows(table))
            checksum = session.one(d.checksum_table(table))
        finally:
            session.close()
        return int(count["n"]) if count else 0, int((checksum or {}).get("Checksum") or 0)

    def _latest_index_id(self) -> int:
        config = self._config()
        if not config.index.path.exists():
            return 0
        store = self._ops().store()
        try:
            latest = store.latest()
            return latest.id if latest else 0
        finally:
            store.close()

    def _mark_recovered(self) -> None:
        if self.disaster_at is not None:
            self.metrics.rto = time.monotonic() - self.disaster_at

    def _rpo(self, prepared: Any) -> int:
        """Transactions that should be on the delayed replica after the recovery but are not."""
        from drkit.io.facts import gather
        from drkit.model.gtid import parse_gtid

        started = time.monotonic()
        request = prepared.request
        facts = gather(prepared.facts.node)
        executed = facts.executed
        skipped = {s.gtid for s in request.skips}
        store = self._ops().store()
        try:
            latest = store.latest()
            last_id = (request.stop.id - 1) if request.stop else (latest.id if latest else 0)
            first_id = prepared.facts.applied.id + 1 if prepared.facts.applied else 1
            lost = sum(
                1
                for _, gtid in store.gtids(first_id, last_id)
                if gtid is not None
                and gtid not in skipped
                and not executed.contains(parse_gtid(gtid))
            )
        finally:
            store.close()
        # The drill's own bookkeeping is not part of the recovery time.
        if self.disaster_at is not None:
            self.disaster_at += time.monotonic() - started
        return lost


def _call(ops: Operations, name: str, *args: Any) -> Any:
    method = getattr(ops, name, None)
    if method is None:
        raise StepFailed(f"this drkit has no {name} operation")
    return method(*args)


def _normalize(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        value = value.decode("utf-8", "replace")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    try:
        number = float(str(value))
        return int(number) if number.is_integer() else number
    except (TypeError, ValueError):
        return str(value) if value is not None else None


def _describe(fingerprint: tuple[int, int] | None) -> str:
    if fingerprint is None:
        return "no table"
    return f"{fingerprint[0]} rows, checksum {fingerprint[1]}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _targets(value: object) -> tuple[str, ...]:
    """A playbook's `apply_through`: one TARGET or a list of them."""
    if value is None:
        return ()
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))
