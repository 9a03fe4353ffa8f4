"""`drkit extract --merge`: put back the rows a DELETE took from a table the application kept
writing to. The frozen copy's rows go to a staging table on the primary (the extract pipeline),
then only the rows whose key the live table lacks are inserted; an existing row is never touched.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from drkit.classify.ignore import STAGING_SUFFIX
from drkit.config import Config, NodeConfig
from drkit.dialect import rows as sql
from drkit.dialect.sql import Sql
from drkit.errors import RefusedError
from drkit.extract.plan import ExtractPlan, parse_tables, plan_extract
from drkit.extract.run import gather_extract_facts
from drkit.io.audit import AuditLog
from drkit.io.lock import engine_lock
from drkit.io.mysql import Session
from drkit.io.mysql import session as open_session
from drkit.pitr.conditions import ReadOnlyIs
from drkit.pitr.executor import Executor, StepCallback
from drkit.pitr.steps import SqlStep


@dataclass(frozen=True)
class MergePlan(ExtractPlan):
    """The copy into a staging table, then the merge into the live table by key."""

    merge_into: str = ""
    key: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    copy_steps: int = 0  # the steps that fill the staging table; the rest merge and clean up

    def to_json(self) -> dict[str, object]:
        data = super().to_json()
        data.update({"merge_into": self.merge_into, "key": list(self.key)})
        return data


@dataclass(frozen=True)
class MergeReport:
    """Rows of the frozen copy, rows already on the primary, rows inserted, and the check."""

    source: str
    destination: str
    table: str
    source_rows: int
    present: int
    inserted: int
    missing_after: int
    rows_before: int
    rows_after: int
    seconds: float

    @property
    def verified(self) -> bool:
        return self.missing_after == 0 and self.present + self.inserted == self.source_rows

    def to_json(self) -> dict[str, object]:
        return {
            "verified": self.verified,
            "table": self.table,
            "source": {"node": self.source, "rows": self.source_rows},
            "destination": {
                "node": self.destination,
                "rows_before": self.rows_before,
                "rows_after": self.rows_after,
            },
            "already_present": self.present,
            "inserted": self.inserted,
            "missing_after": self.missing_after,
            "duration": round(self.seconds, 3),
        }

    def render(self) -> str:
        verdict = "verified" if self.verified else "NOT VERIFIED"
        return "\n".join(
            [
                f"{self.table} on {self.source}: {self.source_rows} rows in the frozen copy",
                f"{self.table} on {self.destination}: {self.present} of them present (left "
                f"untouched), {self.inserted} inserted; {self.rows_before} -> {self.rows_after} rows",
                f"{verdict}: {self.missing_after} keys of the frozen copy missing afterwards "
                f"({self.seconds:.1f}s)"
                + ("" if self.verified else "; the staging table is kept for a look"),
            ]
        )


def prepare_merge(config: Config, source: NodeConfig, table: str) -> MergePlan:
    """Plan the staging copy and the merge; RefusedError when the live table cannot take it."""
    source_table, target = parse_tables(table, None)
    schema, _, name = target.partition(".")
    staging = f"{schema}.{name}{STAGING_SUFFIX}"
    destination = config.require_primary()
    facts = gather_extract_facts(source, destination, source_table, staging)
    if facts.destination.reachable:
        with open_session(destination) as session:
            columns = session.rows(sql.table_columns(target))
    else:
        columns = []
    if facts.destination.reachable and not columns:
        raise RefusedError(
            f"{target} does not exist on {destination.name}: there is nothing to merge into",
            hint=f"copy the whole table back: `drkit extract --table {target}`",
        )
    if facts.target_exists:
        raise RefusedError(
            f"{staging} exists on {destination.name}: a merge left it behind, or it is yours",
            hint=f"look at it and drop it (`DROP TABLE {staging}`), then merge again",
        )
    copy = plan_extract(dataclasses.replace(facts, renamed=True))
    key = tuple(str(c["name"]) for c in columns if c["column_key"] == "PRI")
    if columns and not key:
        raise RefusedError(
            f"{target} has no primary key: a missing row cannot be told from a changed one",
            hint=f"copy the frozen rows beside it (`drkit extract --table {target} --into "
            f"{target}_rescued`) and merge them by hand",
        )
    writable = tuple(str(c["name"]) for c in columns if not int(c["generated"] or 0))
    merge = SqlStep(
        destination.name,
        sql.merge_missing(target, staging, writable, key),
        f"insert only the rows whose key ({', '.join(key)}) {target} lacks; never overwrite",
        pre=(ReadOnlyIs(False),),
    )
    drop = SqlStep(
        destination.name, sql.drop_table(staging), "the staging table has served", pre=()
    )
    return MergePlan(
        title=f"Merge {source_table} from {source.name} into {target} on {destination.name}",
        node=destination.name,
        steps=(*copy.steps, merge, drop),
        summary=(
            *copy.summary[:1],
            f"rows whose key is on {destination.name} are left as they are; the others are "
            "inserted; verified afterwards: no key of the frozen copy is missing",
        ),
        notes=copy.notes,
        source=source.name,
        destination=destination.name,
        source_table=source_table,
        target_table=staging,
        source_rows=copy.source_rows,
        source_executed=copy.source_executed,
        merge_into=target,
        key=key,
        columns=writable,
        copy_steps=len(copy.steps),
    )


def merge(
    config: Config, plan: MergePlan, audit: AuditLog, *, on_step: StepCallback | None = None
) -> MergeReport:
    """Run the plan under the engine lock: fill the staging table, count, merge, verify, drop."""
    with engine_lock(config.folder, what="an extraction", command=audit.command):
        node = config.node(plan.destination)
        audit.event(
            "merge-started", node=plan.destination, table=plan.merge_into, plan=plan.render()
        )
        executor = Executor(config, audit=audit, on_step=on_step)
        copied = executor.run(dataclasses.replace(plan, steps=plan.steps[: plan.copy_steps]))
        with open_session(node, observer=audit) as session:
            source_rows = _number(session, sql.count_rows_of(plan.target_table))
            missing = _number(
                session, sql.count_missing(plan.merge_into, plan.target_table, plan.key)
            )
            before = _number(session, sql.count_rows_of(plan.merge_into))
        merge_step, drop_step = plan.steps[plan.copy_steps :]
        merged = executor.run(dataclasses.replace(plan, steps=(merge_step,)))
        with open_session(node, observer=audit) as session:
            after = _number(session, sql.count_rows_of(plan.merge_into))
            missing_after = _number(
                session, sql.count_missing(plan.merge_into, plan.target_table, plan.key)
            )
        report = MergeReport(
            plan.source,
            plan.destination,
            plan.merge_into,
            source_rows,
            source_rows - missing,
            after - before,
            missing_after,
            before,
            after,
            copied.seconds + merged.seconds,
        )
        if report.verified:
            executor.run(dataclasses.replace(plan, steps=(drop_step,)))
        audit.event(
            "merge-done", node=plan.destination, verified=report.verified, result=report.to_json()
        )
        return report


def _number(session: Session, statement: Sql) -> int:
    row = session.one(statement) or {}
    return int(next(iter(row.values()), 0) or 0)
