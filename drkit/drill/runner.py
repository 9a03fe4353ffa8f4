"""Run a playbook step by step against a fresh sandbox (or a configured topology) and measure it.

Measured: time to detect (disaster committed -> the index flags it), time to freeze (disaster ->
applier stopped), RTO (disaster -> the last recovery step done), RPO (transactions that should
have survived but are missing on the recovered node; must be 0), and every verification. What each
step kind does is in drkit/drill/steps.py; the report types in drkit/drill/results.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from drkit.config import Config, NodeConfig, PasswordSource
from drkit.drill.playbook import CHANGING_KINDS, Playbook, PlaybookError, StepSpec
from drkit.drill.results import DrillReport, Metrics, StepFailed, StepResult
from drkit.drill.steps import STEP_HANDLERS
from drkit.errors import DrkitError, RefusedError
from drkit.io.mysql import Session, connect
from drkit.service import Operations

__all__ = [
    "DrillReport",
    "DrillRunner",
    "Metrics",
    "Report",
    "RunOptions",
    "StepFailed",
    "StepHook",
    "StepResult",
]

Report = Callable[[str], None]
StepHook = Callable[["StepSpec", "StepResult | None"], None]  # None when the step starts


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
        self.moments: dict[str, float] = {}  # a `moment` step's name -> its time T
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
                    detail, data = STEP_HANDLERS[spec.kind](self, spec.params)
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

    # -- what the steps share -----------------------------------------------------------------

    def ops(self) -> Operations:
        """The facade every step acts through, as the CLI and the console do."""
        return Operations(
            self.require_config(), command=f"drkit drill run {self.playbook.path.name}"
        )

    def require_config(self) -> Config:
        if self.config is None:
            raise StepFailed("no topology yet: the playbook must start with a sandbox step")
        return self.config

    def session(self, node: str) -> Session:
        return connect(self.require_config().node(node))

    def writer(self, node: str = "primary") -> Session:
        """Writes go through the application account in a sandbox, like the application's would."""
        return connect(self._as_application(self.require_config().node(node)))

    def through_loadbalancer(self) -> Session:
        config = self.require_config()
        lb = config.loadbalancer
        if lb is None or not lb.frontend:
            raise StepFailed(
                'verify through the load balancer needs [loadbalancer] frontend = "host:port"'
            )
        host, _, port = lb.frontend.rpartition(":")
        base = config.require_primary()
        node = NodeConfig("loadbalancer", base.role, host, int(port), base.user, base.password)
        return connect(self._as_application(node))

    def _as_application(self, node: NodeConfig) -> NodeConfig:
        """`node` with the sandbox's application account, when the drill runs on its own sandbox."""
        if self.sandbox_dir is None:
            return node
        from drkit.sandbox.state import load_state

        state = load_state(self.sandbox_dir / "sandbox.json")
        if state is None:
            return node
        return replace(
            node,
            user=state.application.user,
            password=PasswordSource(literal=state.application.password),
        )

    def fingerprint(self, node: str, table: str) -> tuple[int, int] | None:
        """Row count and checksum of `table` on `node`; None when the table does not exist."""
        with self.session(node) as session:
            d = session.dialect
            exists = session.one(d.table_exists(table))
            if not exists or not int(exists["n"]):
                return None
            count = session.one(d.count_rows(table))
            checksum = session.one(d.checksum_table(table))
        return int(count["n"]) if count else 0, int((checksum or {}).get("Checksum") or 0)

    def latest_index_id(self) -> int:
        config = self.require_config()
        if not config.index.path.exists():
            return 0
        with self.ops().store() as store:
            latest = store.latest()
            return latest.id if latest else 0

    def mark_recovered(self) -> None:
        if self.disaster_at is not None:
            self.metrics.rto = time.monotonic() - self.disaster_at
