"""Gather, run and verify `drkit extract`: rows and CHECKSUM TABLE must match on both sides."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from drkit.config import Config, NodeConfig
from drkit.errors import DrkitError
from drkit.extract.plan import ExtractFacts, ExtractPlan, SourceTable, parse_tables, plan_extract
from drkit.io.audit import AuditLog
from drkit.io.facts import gather
from drkit.io.lock import engine_lock
from drkit.io.mysql import Session
from drkit.io.mysql import session as open_session
from drkit.plan.executor import Executor, StepCallback

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractReport:
    """Both sides after the copy: row counts and checksums, equal when verified."""

    source: str
    destination: str
    source_table: str
    target_table: str
    rows_source: int | None
    rows_destination: int | None
    checksum_source: int | None
    checksum_destination: int | None
    seconds: float

    @property
    def verified(self) -> bool:
        return (
            self.rows_source is not None
            and self.rows_source == self.rows_destination
            and self.checksum_source is not None
            and self.checksum_source == self.checksum_destination
        )

    def to_json(self) -> dict[str, object]:
        return {
            "verified": self.verified,
            "source": {
                "node": self.source,
                "table": self.source_table,
                "rows": self.rows_source,
                "checksum": self.checksum_source,
            },
            "destination": {
                "node": self.destination,
                "table": self.target_table,
                "rows": self.rows_destination,
                "checksum": self.checksum_destination,
            },
            "duration": round(self.seconds, 3),
        }


def prepare_extract(
    config: Config, source: NodeConfig, table: str, into: str | None = None
) -> ExtractPlan:
    """Read both sides and plan the copy (RefusedError when it must not happen)."""
    source_table, target_table = parse_tables(table, into)
    destination = config.require_primary()
    return plan_extract(gather_extract_facts(source, destination, source_table, target_table))


def gather_extract_facts(
    source: NodeConfig, destination: NodeConfig, source_table: str, target_table: str
) -> ExtractFacts:
    """The table on the source, the target on the destination, and both nodes' facts."""
    destination_facts = gather(destination)
    target_exists = False
    schema_exists = True
    if destination_facts.reachable:
        with open_session(destination) as session:
            d = session.dialect
            target_exists = session.one(d.table_type(target_table)) is not None
            schema_exists = bool(
                _count(session.one(d.schema_exists(target_table.partition(".")[0])))
            )
    source_facts = gather(source)
    table = SourceTable(None)
    if source_facts.reachable:
        with open_session(source) as session:
            table = _source_table(session, source_table)
    return ExtractFacts(
        source=source_facts,
        destination=destination_facts,
        source_table=source_table,
        target_table=target_table,
        renamed=target_table != source_table,
        table=table,
        target_exists=target_exists,
        target_schema_exists=schema_exists,
    )


def extract(
    config: Config, plan: ExtractPlan, audit: AuditLog, *, on_step: StepCallback | None = None
) -> ExtractReport:
    """Run the plan under the engine lock, then compare COUNT(*) and CHECKSUM TABLE."""
    with engine_lock(config.folder, what="an extraction", command=audit.command):
        return _extract(config, plan, audit, on_step=on_step)


def _extract(
    config: Config, plan: ExtractPlan, audit: AuditLog, *, on_step: StepCallback | None
) -> ExtractReport:
    from drkit.checks.privileges import require_privileges

    require_privileges(
        [config.node(plan.source), config.node(plan.destination)], ["extract"], "extract"
    )
    audit.event(
        "extract-started",
        node=plan.destination,
        source=plan.source,
        table=plan.source_table,
        target=plan.target_table,
        plan=plan.render(),
    )
    try:
        result = Executor(config, audit=audit, on_step=on_step).run(plan)
    except DrkitError as exc:
        audit.event("extract-failed", node=plan.destination, message=exc.message)
        raise
    rows_source, checksum_source = measure(config.node(plan.source), plan.source_table)
    rows_target, checksum_target = measure(config.node(plan.destination), plan.target_table)
    report = ExtractReport(
        source=plan.source,
        destination=plan.destination,
        source_table=plan.source_table,
        target_table=plan.target_table,
        rows_source=rows_source,
        rows_destination=rows_target,
        checksum_source=checksum_source,
        checksum_destination=checksum_target,
        seconds=result.seconds,
    )
    audit.event(
        "extract-done", node=plan.destination, verified=report.verified, result=report.to_json()
    )
    return report


def measure(node: NodeConfig, table: str) -> tuple[int | None, int | None]:
    """(COUNT(*), CHECKSUM TABLE ... EXTENDED) of a table; None for what cannot be read."""
    try:
        with open_session(node) as session:
            d = session.dialect
            rows = _count(session.one(d.count_rows(table)))
            checksum_row = session.one(d.checksum_table(table)) or {}
    except DrkitError as exc:
        log.warning("cannot read %s on %s to verify the copy: %s", table, node.name, exc.message)
        return None, None
    checksum = checksum_row.get("Checksum")
    return rows, int(checksum) if checksum is not None else None


def _source_table(session: Session, table: str) -> SourceTable:
    d = session.dialect
    kind_row = session.one(d.table_type(table))
    if kind_row is None:
        return SourceTable(None)
    kind = str(kind_row["kind"])
    if kind != "BASE TABLE":
        return SourceTable(kind)
    create = session.one(d.show_create_table(table)) or {}
    definition = str(create.get("Create Table") or "")
    triggers = tuple(str(row["name"]) for row in session.rows(d.table_triggers(table)))
    rows = _count(session.one(d.count_rows(table)))
    return SourceTable(kind, definition, rows, triggers)


def _count(row: dict[str, Any] | None) -> int | None:
    if row is None:
        return None
    value = next(iter(row.values()))
    return None if value is None else int(value)
