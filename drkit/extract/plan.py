"""`drkit extract`: plan the copy of a rescued table from the frozen delayed replica (pure).

The least disruptive recovery for a dropped or emptied table: the primary keeps serving, and gets
the table back as ordinary, binlogged writes, so every replica (and the delayed replica, once
resumed) receives it too. Never overwrites: an existing table is refused unless `--into` names a
new one.
"""

from __future__ import annotations

from dataclasses import dataclass

from drkit.dialect import for_version
from drkit.dialect.dump import pipeline_text
from drkit.errors import ConfigError, RefusedError, UsageError
from drkit.model.facts import NodeFacts, Unreachable
from drkit.plan.conditions import ApplierStopped, ExecutedIs, ReadOnlyIs
from drkit.plan.steps import CopyTable, Plan, SqlStep, Step


@dataclass(frozen=True)
class SourceTable:
    """The table on the frozen source, as read through the server."""

    kind: str | None  # BASE TABLE, VIEW, SEQUENCE ...; None when it does not exist
    definition: str = ""  # SHOW CREATE TABLE
    rows: int | None = None
    triggers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExtractFacts:
    """What planning an extract needs, gathered from both nodes."""

    source: NodeFacts
    destination: NodeFacts
    source_table: str
    target_table: str
    renamed: bool  # --into named a table other than the source's
    table: SourceTable
    target_exists: bool
    target_schema_exists: bool


@dataclass(frozen=True)
class ExtractPlan(Plan):
    """A Plan (printed as the dry run, run by the executor) plus what verification compares."""

    source: str = ""
    destination: str = ""
    source_table: str = ""
    target_table: str = ""
    source_rows: int | None = None
    source_executed: str = ""

    def to_json(self) -> dict[str, object]:
        data = super().to_json()
        data.update(
            {
                "source": self.source,
                "destination": self.destination,
                "source_table": self.source_table,
                "target_table": self.target_table,
                "source_rows": self.source_rows,
            }
        )
        return data


def parse_tables(table: str, into: str | None) -> tuple[str, str]:
    """`S.T` and the target (`S2.T2`, a bare `T2` in the same schema, or the same name)."""
    schema, dot, name = table.strip().partition(".")
    if not dot or not schema or not name:
        raise UsageError(f"--table needs schema.table, not {table!r}")
    if into is None:
        return f"{schema}.{name}", f"{schema}.{name}"
    target_schema, dot, target_name = into.strip().partition(".")
    if not dot:
        target_schema, target_name = schema, target_schema
    if not target_schema or not target_name:
        raise UsageError(f"--into needs schema.table or table, not {into!r}")
    return f"{schema}.{name}", f"{target_schema}.{target_name}"


def plan_extract(facts: ExtractFacts) -> ExtractPlan:
    """The copy as steps, or RefusedError saying what was seen and what to do."""
    source, destination = facts.source, facts.destination
    table, target = facts.source_table, facts.target_table
    for node in (source, destination):
        _refuse_login(node)
    _refuse_source(facts)
    if not destination.reachable or destination.version is None:
        raise RefusedError(
            f"{destination.name} does not answer ({destination.unreachable_reason}): "
            "there is nowhere to copy the table to",
            hint="promote the delayed replica instead (`drkit check promotion`)",
        )
    if destination.read_only:
        raise RefusedError(
            f"{destination.name} is read-only (fenced?): it cannot take the table",
            hint="make it writable again first, or promote the delayed replica instead",
        )
    if facts.target_exists:
        schema, _, name = target.partition(".")
        hint = (
            f"choose a name that does not exist: --into {schema}.{name}_2"
            if facts.renamed
            else f"copy it beside the existing one: --into {schema}.{name}_rescued"
        )
        raise RefusedError(
            f"{target} exists on {destination.name}: extract never overwrites a table", hint=hint
        )
    d = for_version(destination.version)
    try:
        create = d.create_table_like_source(
            facts.table.definition, table, target, rename_foreign_keys=facts.renamed
        )
    except ValueError as exc:
        raise RefusedError(f"cannot reuse the definition of {table}: {exc}") from None
    writable = (ReadOnlyIs(False),)
    steps: list[Step] = []
    schema = target.partition(".")[0]
    if not facts.target_schema_exists:
        steps.append(
            SqlStep(
                destination.name,
                d.create_schema(schema),
                f"schema {schema} is gone on {destination.name} too",
                pre=writable,
            )
        )
    steps.append(
        SqlStep(
            destination.name,
            create,
            f"recreate the table as {source.name} defines it",
            pre=writable,
        )
    )
    frozen_at = str(source.executed)
    steps.append(
        CopyTable(
            source=source.name,
            node=destination.name,
            source_table=table,
            target_table=target,
            pipeline=pipeline_text(
                source.name, destination.name, table, target, mariadb=destination.is_mariadb
            ),
            mariadb=destination.is_mariadb,
            rows=facts.table.rows,
            why=f"{source.name} is frozen: the rows cannot change during the dump",
            pre=writable,
            source_pre=(ApplierStopped(), ExecutedIs(frozen_at)),
        )
    )
    return ExtractPlan(
        title=f"Extract {table} from {source.name} into {destination.name}"
        + (f" as {target}" if target != table else ""),
        node=destination.name,
        steps=tuple(steps),
        summary=(
            f"{source.name} is frozen at {frozen_at or '-'}; {table} holds "
            f"{facts.table.rows if facts.table.rows is not None else '?'} rows there",
            "verified afterwards: COUNT(*) and CHECKSUM TABLE on both sides must match",
        ),
        notes=_notes(facts),
        source=source.name,
        destination=destination.name,
        source_table=table,
        target_table=target,
        source_rows=facts.table.rows,
        source_executed=frozen_at,
    )


def _refuse_login(node: NodeFacts) -> None:
    """Invariant 5: a refused login or a config error is the config's fault (exit 2), never a
    node that is gone (and never a reason to promote)."""
    if node.unreachable_kind in (Unreachable.AUTH, Unreachable.CONFIG):
        raise ConfigError(
            f"{node.name} refused drkit's login ({node.unreachable_reason}); nothing was changed",
            hint="fix the password, account or TLS settings in the config "
            "(`drkit status` shows every node's login)",
        )


def _refuse_source(facts: ExtractFacts) -> None:
    source, table = facts.source, facts.source_table
    if not source.reachable:
        raise RefusedError(
            f"{source.name} does not answer ({source.unreachable_reason}): nothing to copy from"
        )
    replica = source.replica
    if replica is None:
        raise RefusedError(
            f"{source.name} has no replication configured: it is not a frozen copy "
            "(promoted already?)",
            hint="extract copies from the frozen delayed replica; `drkit status` shows the roles",
        )
    if replica.applier_running:
        raise RefusedError(
            f"{source.name} is not frozen: its applier is running, so {table} could change "
            "under the dump (or the disaster reach it)",
            hint="`drkit freeze` first (or `drkit recover --before latest-destructive`)",
        )
    if facts.table.kind is None:
        raise RefusedError(
            f"{table} does not exist on {source.name} (frozen at {source.executed or '-'})",
            hint=f"`drkit events --table {table}` shows when it changed; recover to before that",
        )
    if facts.table.kind != "BASE TABLE":
        raise RefusedError(f"{table} on {source.name} is a {facts.table.kind}, not a table")


def _notes(facts: ExtractFacts) -> tuple[str, ...]:
    notes = [
        f"the rows are ordinary writes on {facts.destination.name}, in its binlog: the replicas "
        "get the table too, and the delayed replica will once it is resumed",
    ]
    if facts.table.triggers:
        notes.append(
            f"triggers on {facts.source_table} are not copied "
            f"({', '.join(facts.table.triggers)}): recreate them from SHOW CREATE TRIGGER "
            f"on {facts.source.name}"
        )
    if facts.renamed and "FOREIGN KEY" in facts.table.definition:
        notes.append(
            "foreign keys of the copy get names of the server's choosing (names are unique per "
            "schema)"
        )
    return tuple(notes)
