"""`drkit asof --into`: the rewound rows as a new table on the primary, in one transaction,
then checked against what was written.

The rows are written under a staging name (`S.T2_drkit_merge`, drkit's reserved scratch
suffix: its DROP or RENAME takes no data anyone had, so the index flags neither) and renamed to
the asked name only once they are verified, in one atomic RENAME TABLE: a reader never sees the
asked name hold anything but the table at T, and a failure leaves nothing under it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from drkit.asof.plan import AsofPlan
from drkit.asof.rewind import Rewinder, Row, row_reader
from drkit.asof.snapshot import Snapshot, TableShape
from drkit.classify.ignore import STAGING_SUFFIX
from drkit.config import Config
from drkit.dialect import asof as sql
from drkit.dialect.rows import begin, commit, drop_table, rollback, utc_session
from drkit.errors import ConfigError, DrkitError, RefusedError, UsageError
from drkit.io.audit import AuditLog
from drkit.io.facts import gather
from drkit.io.mysql import Session, connect
from drkit.model.facts import Unreachable
from drkit.timeparse import iso

log = logging.getLogger(__name__)

INSERT_BATCH_BYTES = 512 * 1024  # one INSERT's text, well under max_allowed_packet
KEY_BATCH = 1000  # rewound rows read back per statement
NAME_LIMIT = 64  # the longest table name the servers take


@dataclass
class Copy:
    """Where the rows were written and how the copy compared with them."""

    target: str
    node: str
    written: int = 0
    verified: bool = False
    checked: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def check_into(config: Config, table: str, into: str) -> tuple[str, str]:
    """The target on the primary: it must answer, be writable, and not hold the table yet."""
    from drkit.extract.plan import parse_tables
    from drkit.io.mysql import session

    _, target = parse_tables(table, into)
    primary = config.require_primary()
    facts = gather(primary)
    if facts.unreachable_kind in (Unreachable.AUTH, Unreachable.CONFIG):
        raise ConfigError(
            f"{primary.name} refused drkit's login ({facts.unreachable_reason})",
            hint="fix the password, account or TLS settings in the config; nothing was written",
        )
    if not facts.reachable:
        raise RefusedError(
            f"{primary.name} does not answer ({facts.unreachable_reason}): --into has nowhere "
            "to write",
            hint="leave out --into: --json or --csv FILE give the rows without a server",
        )
    if facts.read_only:
        raise RefusedError(
            f"{primary.name} is read-only (fenced?): --into cannot write there",
            hint="leave out --into, or make it writable again first",
        )
    schema, _, name = target.partition(".")
    staging = staging_of(target)
    if len(staging.partition(".")[2]) > NAME_LIMIT:
        raise UsageError(
            f"--into {target}: the name is too long for its staging table {staging} "
            f"({NAME_LIMIT} characters at most)",
            hint=f"a name of at most {NAME_LIMIT - len(STAGING_SUFFIX)} characters",
        )
    with session(primary) as opened:
        if opened.one(opened.dialect.table_type(target)) is not None:
            raise RefusedError(
                f"{target} exists on {primary.name}: asof never overwrites a table",
                hint=f"choose a name that does not exist: --into {schema}.{name}_2",
            )
        if opened.one(opened.dialect.table_type(staging)) is not None:
            raise RefusedError(
                f"{staging} exists on {primary.name}: an `asof --into {target}` that did not "
                "finish left it (it never holds a verified copy), or it is yours",
                hint=f"look at it and drop it (`DROP TABLE {staging}`), then run asof again",
            )
    return target, primary.name


def staging_of(target: str) -> str:
    """Where the rows are written and checked before they take the asked name."""
    return target + STAGING_SUFFIX


def write_copy(
    config: Config,
    plan: AsofPlan,
    table: TableShape,
    rows: Sequence[Row],
    audit: AuditLog,
    rewinder: Rewinder,
    untouched: int | None,
) -> Copy:
    """Create the target on the primary, insert the rows in one transaction, and check them.

    `untouched` is the digest sum of the rows no undone change concerned (None: compare every
    row instead)."""
    from drkit.io.lock import engine_lock

    assert plan.into is not None and plan.destination is not None
    primary = config.node(plan.destination)
    result = Copy(plan.into, primary.name)
    begun = time.monotonic()
    with engine_lock(config.folder, what="asof --into", command=audit.command):
        start_copy(config, plan, audit, how="rows inserted through the driver")
        session = connect(primary, observer=audit)
        staging = staging_of(plan.into)
        created = False
        try:
            session.run(utc_session())
            create_target(session, plan, table)
            created = True
            written = [c for c in table.columns if c not in table.generated]
            result.timings["prepare_write"] = time.monotonic() - begun
            begun = time.monotonic()
            session.run(sql.foreign_key_checks(False))
            session.run(begin())
            try:
                insert_rows(session, staging, rows, table.columns, written)
                session.run(commit())
            except BaseException:
                with contextlib.suppress(DrkitError):
                    session.run(rollback())
                raise
            session.run(sql.foreign_key_checks(True))
            result.timings["write"] = time.monotonic() - begun
            begun = time.monotonic()
            result.verified, result.written, result.checked = _verify(
                session, staging, table, rows, rewinder, untouched
            )
            result.timings["verify"] = time.monotonic() - begun
            publish(session, plan.into, result)
        except BaseException as exc:
            if created:
                drop_staging(session, plan.into, exc)
            raise
        finally:
            session.close()
    finish_copy(audit, result)
    return result


def start_copy(config: Config, plan: AsofPlan, audit: AuditLog, *, how: str) -> None:
    """Under the engine lock, before the first write: privileges, the target again, the audit."""
    from drkit.checks.privileges import require_privileges

    assert plan.into is not None and plan.destination is not None
    require_privileges([config.node(plan.destination)], ["extract"], "asof --into")
    check_into(config, plan.table, plan.into)  # again, under the lock
    audit.event(
        "asof-into-started",
        node=plan.destination,
        table=plan.table,
        target=plan.into,
        at=iso(plan.at),
        how=how,
    )


def create_target(session: Session, plan: AsofPlan, table: TableShape) -> None:
    """The target's staging table on the primary, defined as the table is on the replica
    (schema too if new)."""
    assert plan.into is not None
    d = session.dialect
    schema = plan.into.partition(".")[0]
    exists = session.one(d.schema_exists(schema)) or {}
    if not int(next(iter(exists.values()), 0) or 0):
        session.run(d.create_schema(schema))
    session.run(
        d.create_table_like_source(
            table.definition,
            plan.table,
            staging_of(plan.into),
            rename_foreign_keys=plan.into != plan.table,
        )
    )


def publish(session: Session, target: str, result: Copy) -> None:
    """A verified copy takes the asked name in one RENAME; an unverified one goes."""
    staging = staging_of(target)
    if result.verified:
        session.run(sql.rename_table(staging, target))
        return
    session.run(drop_table(staging))
    result.checked += f"; dropped, {target} was not created"


def drop_staging(session: Session, target: str, cause: BaseException) -> None:
    """The staging table of a run that failed holds no answer: it goes, with the failure."""
    staging = staging_of(target)
    try:
        session.run(drop_table(staging))
    except DrkitError as exc:
        log.warning("could not drop %s after %s: %s", staging, cause, exc.message)
        if isinstance(cause, DrkitError) and cause.hint is None:
            cause.hint = f"drop {staging} on {session.node.name}: it holds no answer"


def finish_copy(audit: AuditLog, result: Copy) -> None:
    audit.event(
        "asof-into-done",
        node=result.node,
        target=result.target,
        rows=result.written,
        verified=result.verified,
        checked=result.checked,
    )


def untouched_digest(snapshot: Snapshot, rewinder: Rewinder) -> int:
    """The digest sum of the rows read that no undone change concerned: at T they are as read."""
    assert snapshot.digests is not None
    key_of, touched = rewinder.key_of, rewinder.touched
    return sum(
        digest
        for row, digest in zip(snapshot.rows, snapshot.digests, strict=True)
        if key_of(row) not in touched
    )


def _verify(
    session: Session,
    target: str,
    table: TableShape,
    rows: Sequence[Row],
    rewinder: Rewinder,
    untouched: int | None,
) -> tuple[bool, int, str]:
    """Whether the copy holds exactly `rows`: (verdict, rows found, how it was checked).

    With digests: the rows no change concerned are compared by digest sum against the same rows
    on the replica (the servers print them, so one server version gives one digest), and the
    rewound rows are read back and compared value by value. Without them (no primary key,
    --where), or when the sums differ, every row is read back and compared.
    """
    pairs = list(zip(table.columns, table.types, strict=True))
    canonical = row_reader(table.types)
    if untouched is not None:
        keys = list(rewinder.touched)
        same, count = digests_agree(
            session, target, table, keys, rewinder.rows_of(keys), len(rows), untouched
        )
        if same:
            return True, count, "digests of the unchanged rows, values of the rewound ones"
    _, everything = session.table(sql.select_rows(target, pairs))
    found_rows = [canonical(row) for row in everything]
    return _same_rows(rows, found_rows, table), len(found_rows), "every row read back"


def digests_agree(
    session: Session,
    target: str,
    table: TableShape,
    keys: Sequence[Row],
    rewound: Sequence[Row],
    count: int,
    untouched: int,
) -> tuple[bool, int]:
    """Whether the copy holds `count` rows, the rows with `keys` are exactly `rewound` (value by
    value) and the others' digests sum to `untouched`; and the rows it holds."""
    pairs = list(zip(table.columns, table.types, strict=True))
    canonical = row_reader(table.types)
    found = session.one(sql.table_digest(target, table.columns)) or {}
    held, total = int(found.get("n") or 0), int(found.get("total") or 0)
    back: list[Row] = []
    back_total = 0
    width = len(pairs)
    for first in range(0, len(keys), KEY_BATCH):
        statement = sql.rows_with_keys(target, pairs, table.key, keys[first : first + KEY_BATCH])
        for raw in session.table(statement)[1]:
            back.append(canonical(raw[:width]))
            back_total += int(str(raw[width]))
    same = held == count and total - back_total == untouched and _same_rows(rewound, back, table)
    return same, held


def insert_rows(
    session: Session,
    target: str,
    rows: Sequence[Row],
    columns: Sequence[str],
    written: Sequence[str],
) -> None:
    """The rows as multi-row INSERTs; the next statement's text is built in a thread while the
    server runs the current one (the driver lets the GIL go while it waits)."""
    from concurrent.futures import ThreadPoolExecutor

    statements = (sql.insert_rows(target, written, b) for b in _batches(rows, columns, written))
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming = pool.submit(next, statements, None)
        while True:
            statement = upcoming.result()
            if statement is None:
                return
            upcoming = pool.submit(next, statements, None)
            session.run(statement)


def _batches(
    rows: Sequence[Row], columns: Sequence[str], written: Sequence[str]
) -> Iterator[list[Row]]:
    """The written columns' values, in batches whose INSERT text stays near INSERT_BATCH_BYTES."""
    keep = [columns.index(c) for c in written]
    every = len(keep) == len(columns)
    batch: list[Row] = []
    size = 0
    for row in rows:
        batch.append(row if every else tuple([row[i] for i in keep]))
        size += sum([len(v) if isinstance(v, str | bytes) else 8 for v in row]) + 8
        if size >= INSERT_BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _same_rows(expected: Sequence[Row], found: Sequence[Row], table: TableShape) -> bool:
    """The rows read back equal the rows written (as multisets: the server orders them)."""
    from collections import Counter

    return Counter(expected) == Counter(found)
