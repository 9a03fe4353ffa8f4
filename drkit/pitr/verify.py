"""After a recovery: prove the replica stopped where planned and the rescued data is there."""

from __future__ import annotations

from dataclasses import dataclass

from drkit.dialect.sql import quote_table
from drkit.errors import DrkitError
from drkit.index.records import IndexedTransaction
from drkit.io.mysql import Session
from drkit.model.facts import NodeFacts
from drkit.plan.conditions import Applied, NotApplied, SlavePosIs

# Classes whose damage is visible as a missing table or missing rows on the rescued copy.
TABLE_CLASSES = {"drop_table", "truncate", "delete_without_where", "mass_delete", "drop_database"}


@dataclass(frozen=True)
class Verification:
    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


def verify_recovery(
    session: Session,
    facts: NodeFacts,
    stop: IndexedTransaction | None,
    last: IndexedTransaction | None,
    skips: tuple[IndexedTransaction, ...],
    check_coordinates: bool,
    slave_position: str | None = None,
) -> list[Verification]:
    """Checks on the frozen replica: GTIDs around the stop point, coordinates, the GTID position
    replication restarts from, rescued tables."""
    found: list[Verification] = []
    if slave_position is not None:
        problem = SlavePosIs(slave_position).failure(facts)
        found.append(
            Verification(
                "gtid_slave_pos exact",
                problem is None,
                problem or f"gtid_slave_pos {slave_position}: replication resumes right after it",
            )
        )
    if stop is not None and stop.gtid:
        problem = NotApplied(stop.gtid).failure(facts)
        found.append(
            Verification(
                "target not applied",
                problem is None,
                problem or f"{stop.gtid} is not in {str(facts.executed) or 'the executed set'}",
            )
        )
    if last is not None and last.gtid:
        problem = Applied(last.gtid).failure(facts)
        found.append(
            Verification(
                "everything before it applied", problem is None, problem or f"{last.gtid} applied"
            )
        )
    if stop is not None and check_coordinates and facts.replica is not None:
        executed = facts.replica.executed_source
        ok = executed == stop.start
        found.append(
            Verification(
                "executed position", ok, f"executed {executed}, target starts at {stop.start}"
            )
        )
    for skipped in skips:
        if skipped.gtid:
            problem = Applied(skipped.gtid).failure(facts)
            found.append(
                Verification(
                    f"skipped {skipped.gtid}",
                    problem is None,
                    problem or "replication moved past it without applying it",
                )
            )
    for record in (*skips, *((stop,) if stop else ())):
        if record.destructive and record.destructive.category in TABLE_CLASSES:
            found += _tables(session, record)
    return found


def _tables(session: Session, record: IndexedTransaction) -> list[Verification]:
    checks = []
    d = session.dialect
    for table in record.tables:
        if table.table.endswith(".*"):
            schema = table.table[:-2]
            try:
                row = session.one(d.schema_tables(schema))
            except DrkitError as exc:
                checks.append(Verification(f"database {schema}", False, exc.message))
                continue
            count = int(row["n"]) if row else 0
            checks.append(Verification(f"database {schema}", count > 0, f"{count} tables"))
            continue
        try:
            exists = session.one(d.table_exists(table.table))
            if not exists or not int(exists["n"]):
                checks.append(Verification(f"table {table.table}", False, "does not exist"))
                continue
            rows = session.one(d.count_rows(table.table))
        except DrkitError as exc:
            checks.append(Verification(f"table {table.table}", False, exc.message))
            continue
        count = int(rows["n"]) if rows else 0
        checks.append(
            Verification(
                f"table {table.table}",
                True,
                f"exists with {count} rows ({quote_table(table.table)})",
            )
        )
    return checks
