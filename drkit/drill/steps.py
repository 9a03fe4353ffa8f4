"""What each kind of drill step does: one function per kind, found in STEP_HANDLERS.

A handler gets the runner (the topology, the snapshots, the measurements) and the step's checked
parameters, and returns a one-line detail and the data for the report; StepFailed when the step did
not do what the playbook expects.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from drkit import config as config_module
from drkit.drill.results import StepFailed
from drkit.retry import Retry

if TYPE_CHECKING:
    from drkit.drill.runner import DrillRunner
    from drkit.pitr.recovery import PreparedRecovery

Outcome = tuple[str, dict[str, Any]]
StepHandler = Callable[["DrillRunner", Mapping[str, Any]], Outcome]


def _sandbox(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    if run.options.config is not None:
        return f"using the configured topology {run.options.config.topology_name}", {}
    from drkit.sandbox import topology

    directory = run.options.work_dir / "sandbox"
    options = {str(k): str(v) for k, v in params.get("options", {}).items()}
    result = topology.up(
        directory, delay=params["delay"], haproxy=params["haproxy"], server_options=options
    )
    run.sandbox_dir = result.layout.root
    run.config = config_module.load(result.layout.config_file)
    return (
        f"primary, replica and delayed (delay {params['delay']}s) in {result.seconds:.1f}s",
        {"dir": str(run.sandbox_dir)},
    )


def _workload(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    from drkit.dialect.workload import drill_rows, drill_statuses, drill_table, drill_update

    rng = random.Random(params["seed"])  # noqa: S311 - a reproducible workload, not a secret
    tables: dict[str, int] = {str(k): int(v) for k, v in params["tables"].items()}
    with run.writer() as session:
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
    total = sum(tables.values())
    return (
        f"{len(tables)} tables, {total} rows, {params['transactions']} update transactions",
        {"tables": tables},
    )


def _snapshot(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    taken = {table: run.fingerprint(params["node"], table) for table in params["tables"]}
    run.snapshots[params["name"]] = taken
    shown = ", ".join(f"{t}: {v[0] if v else 'missing'} rows" for t, v in taken.items())
    return shown, {"tables": {t: list(v) if v else None for t, v in taken.items()}}


def _disaster(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    from drkit.dialect.sql import Sql

    run.disaster_floor = run.latest_index_id()
    statements = params["sql"] if isinstance(params["sql"], list) else [params["sql"]]
    with run.writer(params["node"]) as session:
        for text in statements:
            session.run(Sql(str(text)))
    run.disaster_at = time.monotonic()
    return "; ".join(str(s) for s in statements), {}


def _kill(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    from drkit.sandbox import topology

    if run.sandbox_dir is None:
        raise StepFailed("kill needs the playbook's sandbox")
    started = time.monotonic()
    topology.kill_node(run.sandbox_dir, params["node"])
    # The simulated failure is not part of the recovery time (RTO): only what drkit does is.
    if run.disaster_at is not None:
        run.disaster_at += time.monotonic() - started
    return f"{params['node']} killed (SIGKILL)", {}


def _index(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    from drkit.index.indexer import Indexer

    with Indexer(run.require_config()) as indexer:
        result = indexer.run_once()
    return f"{result.new} new transactions, {result.total} in the index", {
        "new": result.new,
        "total": result.total,
    }


def _detect(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    from drkit.index.indexer import Indexer
    from drkit.index.store import Filters

    wanted = params["class"]
    for _ in Retry(0.2, timeout=float(params["within"])):
        with Indexer(run.require_config()) as indexer:
            indexer.run_once()
        found = [
            record
            for record in run.ops().search(Filters(destructive=True, limit=20))
            if record.id > run.disaster_floor
            and record.destructive
            and record.destructive.category == wanted
        ]
        if found:
            record = found[-1]
            if run.disaster_at is not None:
                run.metrics.time_to_detect = time.monotonic() - run.disaster_at
            run.recovery_target = record.to_json()
            return (
                f"found #{record.id} {record.gtid} ({wanted}): {record.destructive.reason if record.destructive else ''}",
                {"transaction": record.to_json()},
            )
    raise StepFailed(f"no {wanted} finding within {params['within']}s of the disaster")


def _freeze(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    ops = run.ops()
    report = ops.freeze(node=params.get("node"))
    if run.disaster_at is not None:
        run.metrics.time_to_freeze = time.monotonic() - run.disaster_at
    state = "froze" if report.was_running else "was already frozen"
    pending = (
        report.index_behind or "pending unknown"
        if report.pending is None
        else f"{report.pending} transaction{'' if report.pending == 1 else 's'} pending"
    )
    return f"{report.node} {state}; {pending}", report.to_json()


def _recover(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    ops = run.ops()
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
    run.mark_recovered()
    run.metrics.rpo = _rpo(run, prepared)
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


def _extract(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    ops = run.ops()
    into = params.get("into") or None  # "" (a runbook's default): the table's own name
    plan = ops.plan_extract(params["table"], into)
    result = ops.extract(plan)
    run.mark_recovered()
    data = result.to_json()
    if not result.verified:
        raise StepFailed(f"extract did not verify: {data}")
    return f"{params['table']} copied back to the primary" + (f" as {into}" if into else ""), data


def _check(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    checklist = run.ops().check_promotion()
    data = checklist.to_json()
    passed = checklist.possible  # the verdict `drkit check promotion` and the console show
    summary = checklist.verdict
    if checklist.failed:
        summary += " (" + "; ".join(f"{r.name}: {r.reason}" for r in checklist.failed) + ")"
    if passed != (params["expect"] == "pass"):
        raise StepFailed(f"expected the check to {params['expect']}, but {summary}")
    return summary, data


def _promote(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    ops = run.ops()
    plan = ops.plan_promotion()
    result = ops.promote(plan)
    run.mark_recovered()
    return "promoted the delayed replica", result.to_json()


def _verify(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    run.metrics.verifications += 1
    try:
        if params.get("snapshot"):
            return _verify_snapshot(run, params)
        return _verify_sql(run, params)
    except StepFailed:
        run.metrics.verifications_failed += 1
        raise


def _verify_snapshot(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    snapshot = run.snapshots[params["snapshot"]]
    tables = params.get("tables") or list(snapshot)
    # rename: compare a snapshotted table with a copy under another name (an extract --into).
    renamed = {str(k): str(v) for k, v in (params.get("rename") or {}).items()}
    mismatched = []
    compared = {}
    for table in tables:
        if table not in snapshot:
            raise StepFailed(f"snapshot {params['snapshot']!r} has no table {table}")
        now = run.fingerprint(params["node"], renamed.get(table, table))
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


def _verify_sql(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    from drkit.dialect.sql import Sql

    statements = params["sql"] if isinstance(params["sql"], list) else [params["sql"]]
    session = (
        run.through_loadbalancer()
        if params.get("through") == "loadbalancer"
        else run.session(params["node"])
    )
    with session:
        rows: list[dict[str, Any]] = []
        for text in statements:
            rows = session.rows(Sql(str(text)))
    value = next(iter(rows[0].values())) if rows else None
    expected = params["expect"]
    if _normalize(value) != _normalize(expected):
        raise StepFailed(f"{statements[-1]!r} returned {value!r}, expected {expected!r}")
    where = "through the load balancer" if params.get("through") else f"on {params['node']}"
    return f"{statements[-1]} = {value!r} {where}", {"value": _normalize(value)}


def _resume(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    ops = run.ops()
    plan = ops.plan_resume(node=params.get("node"), through=_targets(params.get("apply_through")))
    facts = ops.resume(plan, node=params.get("node"))
    delay = facts.replica.sql_delay if facts.replica else None
    return f"replication resumed with delay {delay}s", {"delay": delay}


def _moment(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    """The tables' fingerprints now, and the moment T they belong to."""
    taken = {table: run.fingerprint(params["node"], table) for table in params["tables"]}
    when = time.time()
    run.snapshots[params["name"]] = taken
    run.moments[params["name"]] = when
    # The binlog stamps whole seconds, and T takes in every transaction of its second: the next
    # commit must fall in a later second to be after T.
    time.sleep(max(0.0, int(when) + 1.05 - time.time()))
    from drkit.timeparse import iso

    shown = ", ".join(f"{t}: {_describe(v)}" for t, v in taken.items())
    return f"T = {iso(when)}: {shown}", {
        "at": iso(when),
        "tables": {t: list(v) if v else None for t, v in taken.items()},
    }


def _changes(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    """Single-row transactions on an existing drill table: updates, deletes and inserts."""
    from drkit.dialect.workload import (
        drill_delete,
        drill_max_id,
        drill_rows,
        drill_statuses,
        drill_update,
    )

    rng = random.Random(params["seed"])  # noqa: S311 - a reproducible workload, not a secret
    table = params["table"]
    counts = {"update": 0, "delete": 0, "insert": 0}
    with run.writer() as session:
        top = int((session.one(drill_max_id(table)) or {"n": 0})["n"])
        if top == 0:
            raise StepFailed(f"{table} has no rows to change: a workload step creates it first")
        for _ in range(params["transactions"]):
            pick = rng.random()
            if pick < 0.7:
                sql = drill_update(
                    table, rng.randint(1, top), rng.randint(100, 99_999), rng.randint(0, 3)
                )
                counts["update"] += 1
            elif pick < 0.85:
                sql = drill_delete(table, rng.randint(1, top))
                counts["delete"] += 1
            else:
                top += 1
                status = rng.choice(drill_statuses())
                sql = drill_rows(
                    table, top, [(rng.randint(1, 50), rng.randint(100, 99_999), status, "new")]
                )
                counts["insert"] += 1
            session.run(sql)
    return (
        f"{params['transactions']} transactions on {table}: {counts['update']} updates, "
        f"{counts['delete']} deletes, {counts['insert']} inserts"
    ), counts


def _inspect(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    """Roll the delayed replica forward to a moment and ask its tables there (`drkit inspect`)."""
    from drkit.dialect.workload import drill_fingerprint
    from drkit.timeparse import iso

    name = params["at"]
    when = run.moments[name]
    ops = run.ops()
    statements = tuple(sql.text for table in params["tables"] for sql in drill_fingerprint(table))
    prepared = ops.prepare_inspect(iso(when))
    report = ops.inspect(prepared, statements)
    found: dict[str, tuple[int, int] | None] = {}
    for number, table in enumerate(params["tables"]):
        count, checksum = report.results[2 * number], report.results[2 * number + 1]
        found[table] = (int(count.rows[0][0]), int(checksum.rows[0][1] or 0))
    return _judge(run, name, found, "inspect", report.seconds_to_answer, report.to_json())


def _asof(run: DrillRunner, params: Mapping[str, Any]) -> Outcome:
    """Rewind a table to a moment from the delayed replica's rows and the archive (`drkit
    asof`), written beside it on the primary, and compare that copy with the moment."""
    from drkit.timeparse import iso

    name, table = params["at"], params["table"]
    target = f"{table}_at_{name}"
    ops = run.ops()
    plan = ops.plan_asof(table, iso(run.moments[name]), into=target)
    result = ops.asof(plan)
    if not result.verified:
        raise StepFailed(f"the rows written to {target} did not read back as written")
    found = {table: run.fingerprint("primary", target)}
    data = result.to_json(with_rows=False)
    return _judge(run, name, found, "asof", result.seconds_to_answer, data)


def _judge(
    run: DrillRunner,
    moment: str,
    found: Mapping[str, tuple[int, int] | None],
    how: str,
    seconds: float,
    data: dict[str, Any],
) -> Outcome:
    """Compare answers with the moment's fingerprints; every answer is counted and timed."""
    recorded = run.snapshots[moment]
    wrong = []
    for table, value in found.items():
        if table not in recorded:
            raise StepFailed(f"moment {moment!r} did not record {table}")
        matched = value == recorded[table]
        run.metrics.verifications += 1
        run.metrics.answers.append(
            {
                "moment": moment,
                "table": table,
                "how": how,
                "seconds": round(seconds, 3),
                "matched": matched,
            }
        )
        if not matched:
            run.metrics.verifications_failed += 1
            wrong.append(
                f"{table} at {moment}: expected {_describe(recorded[table])}, "
                f"{how} answered {_describe(value)}"
            )
    if wrong:
        raise StepFailed("; ".join(wrong))
    tables = ", ".join(found)
    return f"{tables} as of {moment!r} matched, answered by {how} in {seconds:.2f}s", data


STEP_HANDLERS: Mapping[str, StepHandler] = {
    "sandbox": _sandbox,
    "workload": _workload,
    "snapshot": _snapshot,
    "disaster": _disaster,
    "kill": _kill,
    "index": _index,
    "detect": _detect,
    "freeze": _freeze,
    "recover": _recover,
    "extract": _extract,
    "check": _check,
    "promote": _promote,
    "verify": _verify,
    "resume": _resume,
    "moment": _moment,
    "changes": _changes,
    "inspect": _inspect,
    "asof": _asof,
}


def _rpo(run: DrillRunner, prepared: PreparedRecovery) -> int:
    """Transactions that should be on the delayed replica after the recovery but are not."""
    from drkit.io.facts import gather
    from drkit.model.gtid import parse_gtid

    started = time.monotonic()
    request = prepared.request
    facts = gather(prepared.facts.node)
    executed = facts.executed
    skipped = {s.gtid for s in request.skips}
    with run.ops().store() as store:
        latest = store.latest()
        last_id = (request.stop.id - 1) if request.stop else (latest.id if latest else 0)
        first_id = prepared.facts.applied.id + 1 if prepared.facts.applied else 1
        lost = sum(
            1
            for _, gtid in store.gtids(first_id, last_id)
            if gtid is not None and gtid not in skipped and not executed.contains(parse_gtid(gtid))
        )
    # The drill's own bookkeeping is not part of the recovery time.
    if run.disaster_at is not None:
        run.disaster_at += time.monotonic() - started
    return lost


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


def _targets(value: object) -> tuple[str, ...]:
    """A playbook's `apply_through`: one TARGET or a list of them."""
    if value is None:
        return ()
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))
