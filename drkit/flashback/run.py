"""Gather, run and verify `drkit flashback`: reverse statements streamed from the archive, applied
on the primary as one transaction (or written to a file), then compared with the before images.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from drkit.binlog.files import map_file
from drkit.compression import binlog_size, stored_path
from drkit.config import Config
from drkit.dialect import rows as sql
from drkit.errors import DrkitError, NodeError, RefusedError, UsageError
from drkit.flashback.helper import HalfWritten, Helper, halves
from drkit.flashback.images import (
    Image,
    binary_json_columns,
    format_of,
    stream_images,
    table_columns,
)
from drkit.flashback.plan import (
    ABORT,
    SKIP,
    FlashbackFacts,
    FlashbackPlan,
    Reverse,
    TableFacts,
    TablePlan,
    TargetFacts,
    partial_images,
    plan_flashback,
    reverse_statement,
)
from drkit.flashback.probe import ConflictProbe
from drkit.flashback.statements import write_reverses
from drkit.flashback.values import as_json
from drkit.index.changes import table_changes
from drkit.index.gaps import refuse_across, refuse_window
from drkit.index.records import IndexedTransaction
from drkit.index.store import IndexStore
from drkit.io.audit import AuditLog
from drkit.io.lock import engine_lock
from drkit.io.mysql import IntegrityRefused, NodeUnreachable, Session, connect
from drkit.render import counted

VERIFY_BATCH = 200
LISTED = 50  # conflicts and mismatches listed by name; the rest are counted


@dataclass(frozen=True)
class Conflict:
    """A row that changed after the disaster: its reverse statement found nothing to act on."""

    table: str
    operation: str
    key: Mapping[str, object]

    def describe(self) -> str:
        key = ", ".join(f"{k}={as_json(v)}" for k, v in self.key.items())
        if self.operation == "delete":
            return (
                f"{self.table} ({key}): deleted by the target, but a row with this key exists again"
            )
        return f"{self.table} ({key}): changed since the {self.operation.upper()}"

    def history_command(self) -> str:
        """The command that shows every version of this row."""
        key = ",".join(f"{k}={as_json(v)}" for k, v in self.key.items())
        return f"drkit history --table {self.table} --key {shlex.quote(key)}"

    def to_json(self) -> dict[str, object]:
        return {
            "table": self.table,
            "operation": self.operation,
            "key": {k: as_json(v) for k, v in self.key.items()},
        }


class FlashbackConflicts(RefusedError):
    """Rows changed since the disaster: nothing was applied (--on-conflict abort)."""

    def __init__(self, conflicts: Sequence[Conflict], total: int) -> None:
        listed = "; ".join(c.describe() for c in conflicts[:5])
        more = f" and {total - 5} more" if total > 5 else ""
        super().__init__(
            f"{total} row{'s' if total != 1 else ''} changed since the disaster ({listed}{more}); "
            "nothing was applied",
            hint=f"{_history_hint(conflicts)}; "
            "`--on-conflict skip` applies the rest and reports these",
        )
        self.conflicts = tuple(conflicts)
        self.total = total

    def details(self) -> dict[str, object]:
        return {"conflicts": [c.to_json() for c in self.conflicts], "conflict_count": self.total}


def _history_hint(conflicts: Sequence[Conflict]) -> str:
    if not conflicts:
        return "`drkit history --table S.T --key COL=VALUE` shows a row's versions"
    first = f"`{conflicts[0].history_command()}`"
    return f"look at it with {first}" if len(conflicts) == 1 else f"look at each, e.g. {first}"


@dataclass(frozen=True)
class FlashbackReport:
    """What a flashback did: statements applied, rows skipped, the verification."""

    node: str
    applied: int
    skipped: tuple[Conflict, ...]
    skipped_count: int
    checked: int
    mismatched: tuple[Conflict, ...]
    mismatched_count: int
    seconds: float
    sql_file: Path | None = None
    statements: int = 0
    conflicts_checked: bool = False  # --sql: the primary was asked which rows changed since

    @property
    def verified(self) -> bool:
        return self.sql_file is None and self.mismatched_count == 0

    def to_json(self) -> dict[str, object]:
        return {
            "node": self.node,
            "sql_file": str(self.sql_file) if self.sql_file else None,
            "statements": self.statements,
            "conflicts_checked": self.conflicts_checked if self.sql_file else True,
            "applied": self.applied,
            "skipped": [c.to_json() for c in self.skipped],
            "skipped_count": self.skipped_count,
            "verified": self.verified,
            "checked": self.checked,
            "mismatched": [c.to_json() for c in self.mismatched],
            "mismatched_count": self.mismatched_count,
            "duration": round(self.seconds, 3),
        }

    def changed_since(self) -> list[str]:
        """For --sql: the rows whose statement will find nothing to act on, as sentences (or
        why they could not be asked about)."""
        if not self.conflicts_checked:
            return [
                f"{self.node} did not answer: rows changed since the disaster were not looked "
                "for; the file's statements skip them when it runs (each is guarded)"
            ]
        lines = (
            [
                f"{self.skipped_count} row{'s' if self.skipped_count != 1 else ''} changed since the "
                "disaster: their statements will find nothing to act on"
            ]
            if self.skipped_count
            else []
        )
        lines.extend(f"  {c.describe()}" for c in self.skipped)
        if self.skipped_count > len(self.skipped):
            lines.append(f"  ... and {self.skipped_count - len(self.skipped)} more")
        return lines

    def render(self) -> str:
        if self.sql_file:
            return (
                f"{counted(self.statements, 'reverse statement')} written to {self.sql_file} "
                f"in {self.seconds:.1f}s (one transaction; each acts only on a row still "
                "holding what the disaster left)"
            )
        lines = [
            f"{counted(self.applied, 'row change')} reversed on {self.node} in one transaction"
        ]
        if self.skipped_count:
            lines.append(
                f"{counted(self.skipped_count, 'row')} skipped, changed since the disaster:"
            )
            lines.extend(f"  {c.describe()}" for c in self.skipped)
            if self.skipped_count > len(self.skipped):
                lines.append(f"  ... and {self.skipped_count - len(self.skipped)} more")
            lines.append(f"  {_history_hint(self.skipped)}")
        verdict = "verified" if self.verified else "NOT VERIFIED"
        lines.append(
            f"{verdict}: {counted(self.checked, 'row')} compared with their before images, "
            f"{self.mismatched_count} differ ({self.seconds:.1f}s)"
        )
        lines.extend(f"  differs: {c.describe()}" for c in self.mismatched)
        return "\n".join(lines)


# -- preparing ------------------------------------------------------------------------------------


def prepare_flashback(
    config: Config,
    store: IndexStore,
    targets: Sequence[str],
    *,
    table: str | None = None,
    since: float | None = None,
    until: float | None = None,
    sql_file: Path | None = None,
    on_conflict: str = ABORT,
) -> FlashbackPlan:
    """Resolve the targets, read the archive's table maps and the primary's tables, and plan."""
    if on_conflict not in (ABORT, SKIP):
        raise UsageError(f"--on-conflict takes abort or skip, not {on_conflict!r}")
    if (since is not None or until is not None) and table is None:
        raise UsageError("--since and --until need --table: they choose that table's changes")
    if not targets and since is None and until is None:
        raise UsageError(
            "name a TARGET (an id, a GTID, latest-destructive) or --table with --since"
        )
    if table is not None and (table.count(".") != 1 or "*" in table):
        raise UsageError(f"not a table: {table!r} (schema.table, no wildcards)")
    records = _resolve(store, targets, table, since, until)
    if since is not None or until is not None:
        refuse_window(store, since, until, f"this flashback of {table}'s changes")
    if records:
        refuse_across(store, records[0].id, records[-1].id, "this flashback")
    facts = gather_flashback_facts(config, store, records, table, on_conflict, sql_file)
    if not facts.reachable and sql_file is None:
        raise RefusedError(
            f"{facts.node} did not answer: there is nothing to reverse the changes on",
            hint="`--sql FILE` writes the reverse statements for when it is back",
        )
    return plan_flashback(facts)


def _resolve(
    store: IndexStore,
    targets: Sequence[str],
    table: str | None,
    since: float | None,
    until: float | None,
) -> list[IndexedTransaction]:
    from drkit.pitr.targets import resolve_target

    found: dict[int, IndexedTransaction] = {}
    for text in targets:
        record = resolve_target(store, text)
        found[record.id] = record
    if table is not None and (since is not None or until is not None):
        schema, _, name = table.partition(".")
        for change in table_changes(store, schema, name, since=since, until=until):
            if change.id not in found:
                changed = store.get(change.id)
                if changed is not None:
                    found[changed.id] = changed
    return [found[i] for i in sorted(found)]


def gather_flashback_facts(
    config: Config,
    store: IndexStore,
    records: Sequence[IndexedTransaction],
    table_filter: str | None,
    on_conflict: str,
    sql_file: Path | None,
) -> FlashbackFacts:
    """The targets' row events and table maps from the archive, the tables from the primary."""
    archive = config.index.archive_dir
    targets: list[TargetFacts] = []
    names: set[str] = set()
    for record in records:
        offsets = tuple(store.row_events(record.id))
        path = archive / record.file
        problem: str | None = None
        columns: dict[str, tuple[str, ...]] = {}
        binary_json: dict[str, tuple[str, ...]] = {}
        if not stored_path(path).is_file():  # NAME, or NAME.zst once compressed
            problem = f"its binlog file {record.file} is not in the archive {archive}"
        elif (size := binlog_size(path)) < record.end_pos:
            problem = (
                f"the archive's copy of {record.file} ends before the transaction does "
                f"(byte {size} < {record.end_pos})"
            )
        elif offsets:
            columns = table_columns(path, offsets)
            binary_json = binary_json_columns(path, offsets)
        targets.append(TargetFacts(record, offsets, problem, columns, binary_json))
        names.update(
            t.table for t in record.tables if table_filter in (None, t.table) and "*" not in t.table
        )
    primary = config.require_primary()
    try:
        session = connect(primary)
    except NodeUnreachable:
        return FlashbackFacts(
            primary.name, False, tuple(targets), {}, table_filter, on_conflict, sql_file
        )
    try:
        tables = {name: _table_facts(session, name) for name in sorted(names)}
    finally:
        session.close()
    return FlashbackFacts(
        primary.name, True, tuple(targets), tables, table_filter, on_conflict, sql_file
    )


def _table_facts(session: Session, table: str) -> TableFacts:
    columns = session.rows(sql.table_columns(table))
    if not columns:
        return TableFacts(table, False)
    cascades = tuple(
        f"{row['child_schema']}.{row['child_table']} ({row['name']}): "
        + ", ".join(
            f"ON {what} {rule}"
            for what, rule in (("DELETE", row["on_delete"]), ("UPDATE", row["on_update"]))
            if rule in ("CASCADE", "SET NULL", "SET DEFAULT")
        )
        for row in session.rows(sql.cascading_children(table))
    )
    triggers = tuple(str(row["name"]) for row in session.rows(sql.table_triggers(table)))
    return TableFacts(
        table,
        True,
        tuple(str(row["name"]) for row in columns),
        tuple(str(row["name"]) for row in columns if int(row["generated"] or 0)),
        tuple(str(row["name"]) for row in columns if row["column_key"] == "PRI"),
        cascades,
        triggers,
    )


# -- running --------------------------------------------------------------------------------------


def flashback(config: Config, plan: FlashbackPlan, audit: AuditLog) -> FlashbackReport:
    """Write the plan's statements to its file, or apply them under the engine lock and verify."""
    if plan.sql_file is not None:
        return write_sql(config, plan)
    with engine_lock(config.folder, what="a flashback", command=audit.command):
        return _apply(config, plan, audit)


def reverses(config: Config, plan: FlashbackPlan) -> Iterator[Reverse]:
    """The plan's reverse statements, newest first, streamed from the archive."""
    for target in plan.targets:
        path = config.index.archive_dir / target.file
        for image in stream_images(path, target.row_events, newest_first=True):
            reverse = _reverse(image, plan, target.label)
            if reverse is not None:
                yield reverse


def _reverse(image: Image, plan: FlashbackPlan, label: str) -> Reverse | None:
    table = plan.tables.get(f"{image.row.schema}.{image.row.table}")
    return None if table is None else _checked_reverse(image, table, label)


def _checked_reverse(image: Image, table: TablePlan, label: str) -> Reverse | None:
    if not image.full:
        raise partial_images(label, table.table)
    return reverse_statement(image.row, table)


def preview(config: Config, plan: FlashbackPlan, limit: int) -> tuple[list[str], bool]:
    """The first `limit` reverse statements, and whether there are more."""
    shown: list[str] = []
    for reverse in reverses(config, plan):
        if len(shown) == limit:
            return shown, True
        shown.append(reverse.sql.text)
    return shown, False


def write_sql(config: Config, plan: FlashbackPlan) -> FlashbackReport:
    """The reverse statements as one transaction in a file (written aside, then renamed).

    While it is written, the primary (when it answers) is asked which rows changed since the
    disaster: their guarded statements will find nothing to act on, and the report names them
    (the file is for the operator to run; --on-conflict rules what drkit applies itself). A big
    single transaction is written in two halves side by side (drkit.flashback.helper).
    """
    assert plan.sql_file is not None
    started = time.monotonic()
    target = plan.sql_file
    partial = target.with_name(f".{target.name}.partial")
    helper = _helper(config, plan, partial)  # forked before any connection or thread
    probe = _probe(config, plan)
    half: HalfWritten | None = None
    count = 0
    try:
        with partial.open("w", encoding="utf-8") as out:
            ids = ", ".join(f"#{t.id} {t.gtid or ''}".strip() for t in plan.targets)
            out.write(f"-- drkit flashback of {ids}, newest first\n")
            out.write(f"{sql.utc_session().text};\n{sql.begin().text};\n")
            for planned in plan.targets:
                path = config.index.archive_dir / planned.file
                with map_file(path, planned.row_events) as buf:
                    fmt = format_of(buf)
                    offsets = planned.row_events
                    if helper is not None:
                        offsets = helper[1]
                    count += write_reverses(
                        buf, fmt, offsets, plan.tables, planned.label, out, probe
                    )
                if helper is not None:
                    half = helper[0].result()
                    count += half.statements
                    with helper[0].part.open(encoding="utf-8") as older:
                        shutil.copyfileobj(older, out, 1 << 20)
            out.write(f"{sql.commit().text};\n")
        if probe is not None:
            probe.finish()
        found, total = _changed(probe, half)
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    finally:
        if probe is not None:
            probe.close()
        if helper is not None:
            helper[0].stop()
    checked = probe is not None and (half is None or half.checked)
    return FlashbackReport(
        plan.node,
        0,
        tuple(found),
        total,
        0,
        (),
        0,
        time.monotonic() - started,
        target,
        count,
        checked,
    )


def _helper(
    config: Config, plan: FlashbackPlan, partial: Path
) -> tuple[Helper, tuple[tuple[int, int], ...]] | None:
    """A helper writing the older half of a single big transaction, and the newer half's
    offsets for drkit; None for several targets (a row may then be reversed twice, and only
    its newest reverse may be asked about), a small one, or when other threads run here (the
    console's): a fork copies their locks in whatever state they are."""
    if len(plan.targets) != 1 or _repeats(plan) or (os.cpu_count() or 1) < 2:
        return None
    if threading.active_count() > 1:
        return None
    planned = plan.targets[0]
    path = config.index.archive_dir / planned.file
    with map_file(path, planned.row_events) as buf:
        split = halves(buf, format_of(buf), planned.row_events)
    if split is None:
        return None
    newer, older = split
    part = partial.with_name(partial.name + ".older")

    def write_older() -> HalfWritten:
        probe = _probe(config, plan)
        try:
            with part.open("w", encoding="utf-8") as out, map_file(path, older) as buf:
                written = write_reverses(
                    buf, format_of(buf), older, plan.tables, planned.label, out, probe
                )
            if probe is None:
                return HalfWritten(written, False)
            probe.finish()
            return HalfWritten(written, True, probe.found, probe.count)
        finally:
            if probe is not None:
                probe.close()

    return Helper(write_older, part), newer


def _repeats(plan: FlashbackPlan) -> bool:
    """Whether a row may be reversed twice: not in one transaction that only deleted, or only
    inserted, rows."""
    inserts, updates, deletes = plan.targets[0].rows if len(plan.targets) == 1 else (1, 1, 1)
    return not (updates == 0 and (inserts == 0 or deletes == 0))


def _probe(config: Config, plan: FlashbackPlan) -> ConflictProbe | None:
    """A probe on the primary, or None when it does not answer (the report says unchecked)."""
    try:
        session = connect(config.node(plan.node))
    except NodeUnreachable:
        return None
    session.run(sql.utc_session())
    return ConflictProbe(session, plan.tables, LISTED, repeats=_repeats(plan))


def _changed(probe: ConflictProbe | None, half: HalfWritten | None) -> tuple[list[Conflict], int]:
    """The rows found changed since, by drkit and by its helper, as conflicts and a count."""
    found = list(probe.found if probe is not None else [])
    total = probe.count if probe is not None else 0
    if half is not None:
        found += half.found
        total += half.count
    return [Conflict(c.table, c.operation, c.key) for c in found[:LISTED]], total


@dataclass
class _Outcome:
    applied: int = 0
    skipped: list[Conflict] = field(default_factory=list)
    skipped_count: int = 0
    skipped_keys: set[int] = field(default_factory=set)


def _apply(config: Config, plan: FlashbackPlan, audit: AuditLog) -> FlashbackReport:
    started = time.monotonic()
    node = config.node(plan.node)
    audit.event("flashback-started", node=plan.node, plan=plan.render())
    outcome = _Outcome()
    session = connect(node, observer=audit)
    try:
        session.run(sql.utc_session())
        session.run(sql.begin())
        try:
            _run_reverses(config, plan, session, outcome)
        except BaseException:
            with contextlib.suppress(DrkitError):
                session.run(sql.rollback())
            raise
        if outcome.skipped_count and plan.on_conflict == ABORT:
            session.run(sql.rollback())
            audit.event("flashback-refused", node=plan.node, conflicts=outcome.skipped_count)
            raise FlashbackConflicts(outcome.skipped, outcome.skipped_count)
        session.run(sql.commit())
        audit.event(
            "flashback-applied",
            node=plan.node,
            applied=outcome.applied,
            skipped=outcome.skipped_count,
        )
        checked, mismatched, mismatched_count = _verify(config, plan, session, outcome)
    finally:
        session.close()
    report = FlashbackReport(
        plan.node,
        outcome.applied,
        tuple(outcome.skipped),
        outcome.skipped_count,
        checked,
        tuple(mismatched),
        mismatched_count,
        time.monotonic() - started,
    )
    audit.event("flashback-done", node=plan.node, verified=report.verified, result=report.to_json())
    return report


BATCH = 500  # deleted rows restored per statement


def _run_reverses(config: Config, plan: FlashbackPlan, session: Session, outcome: _Outcome) -> None:
    """Each statement must act on exactly one row; one that finds none is a conflict.

    Deleted rows of a table with a key go back BATCH at a time, one statement each batch; a
    batch that does not insert every row is undone to its savepoint and run a row at a time,
    so the outcome is the same as one statement a row.
    """
    batch: list[Reverse] = []
    for reverse in reverses(config, plan):
        batchable = reverse.operation == "delete" and bool(plan.tables[reverse.table].key)
        if batch and (not batchable or reverse.table != batch[0].table):
            _flush(session, plan, batch, outcome)
        if batchable:
            batch.append(reverse)
            if len(batch) >= BATCH:
                _flush(session, plan, batch, outcome)
        else:
            _one(session, plan, reverse, outcome)
    if batch:
        _flush(session, plan, batch, outcome)


def _flush(session: Session, plan: FlashbackPlan, batch: list[Reverse], outcome: _Outcome) -> None:
    table = plan.tables[batch[0].table]
    if len(batch) > 1:
        statement = sql.restore_deleted_batch(
            table.table, [r.restored or {} for r in batch], table.write, table.key
        )
        session.affected(sql.savepoint())
        try:
            inserted = session.affected(statement)
        except IntegrityRefused:
            inserted = -1  # a key twice in the batch: row by row says which
        if inserted == len(batch):
            outcome.applied += inserted
            batch.clear()
            return
        session.affected(sql.rollback_to_savepoint())
    for reverse in batch:
        _one(session, plan, reverse, outcome)
    batch.clear()


def _one(session: Session, plan: FlashbackPlan, reverse: Reverse, outcome: _Outcome) -> None:
    try:
        changed = session.affected(reverse.sql)
    except NodeError as exc:
        raise DrkitError(
            f"a reverse statement on {reverse.table} failed: {exc}; nothing was applied"
        ) from None
    if changed == 1:
        outcome.applied += 1
        return
    outcome.skipped_count += 1
    outcome.skipped_keys.add(_key_hash(reverse.table, reverse.key))
    if len(outcome.skipped) < LISTED:
        outcome.skipped.append(Conflict(reverse.table, reverse.operation, reverse.key))


def _verify(
    config: Config, plan: FlashbackPlan, session: Session, outcome: _Outcome
) -> tuple[int, list[Conflict], int]:
    """Compare each affected row (its oldest image in the targets) with what the table holds."""
    seen: set[int] = set(outcome.skipped_keys)
    batches: dict[tuple[str, bool], list[Reverse]] = {}
    checked = 0
    mismatched: list[Conflict] = []
    count = 0
    for target in reversed(plan.targets):
        path = config.index.archive_dir / target.file
        for image in stream_images(path, target.row_events):
            reverse = _reverse(image, plan, target.label)
            if reverse is None:
                continue
            digest = _key_hash(reverse.table, reverse.key)
            if digest in seen:
                continue
            seen.add(digest)
            present = reverse.restored is not None
            if not present and not plan.tables[reverse.table].key:
                continue  # without a key an equal row may rightly exist
            batch = batches.setdefault((reverse.table, present), [])
            batch.append(reverse)
            if len(batch) >= VERIFY_BATCH:
                found = _check(session, plan, batch, present, mismatched)
                checked += len(batch)
                count += found
                batch.clear()
    for (_, present), batch in batches.items():
        if batch:
            count += _check(session, plan, batch, present, mismatched)
            checked += len(batch)
    return checked, mismatched, count


def _check(
    session: Session,
    plan: FlashbackPlan,
    batch: Sequence[Reverse],
    present: bool,
    mismatched: list[Conflict],
) -> int:
    """Mismatches in one batch (one query when all is well, then one per row to name them)."""
    table = plan.tables[batch[0].table]
    images = [r.restored if r.restored is not None and present else r.left for r in batch]
    found = _count(session, table.table, images, table.compare)
    expected = len(batch) if present else 0
    ok = found >= expected if (present and not table.key) else found == expected
    if ok:
        return 0
    wrong = 0
    for reverse, image in zip(batch, images, strict=True):
        one = _count(session, table.table, [image], table.compare)
        if (one >= 1) != present:
            wrong += 1
            if len(mismatched) < LISTED:
                mismatched.append(Conflict(reverse.table, reverse.operation, reverse.key))
    return wrong


def _count(
    session: Session, table: str, images: Sequence[Mapping[str, object]], columns: Sequence[str]
) -> int:
    row = session.one(sql.count_matching(table, images, columns)) or {}
    return int(row.get("n") or 0)


def _key_hash(table: str, key: Mapping[str, object]) -> int:
    return hash((table, repr(sorted(key.items()))))
