"""One seeded torture run: random operations on a real sandbox, each checked against the model.

Every choice comes from the seed and the model (never from timing), so a seed replays the same
operations; the trace printed on failure lists them with their arguments and outcomes.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from tests.support.processes import alive, catch_up_delayed, children_of, drkit_popen, row_lock
from tests.support.sandbox import Sandbox, wait_for
from tests.support.scenario import run_drkit
from tests.torture.asof import AsofCase, expected_refusals, rows_of_csv, rows_of_json
from tests.torture.model import (
    ALL_TABLES,
    DOMAIN_TABLES,
    Effect,
    Model,
    Tables,
    Tx,
    diff,
    state_of,
)

WORDS = ("alpha", "bravo", "delta", "echo", "kilo", "lima", "oscar", "tango", "zulu")
DISASTERS = ("drop", "truncate", "delete_all", "update_all")
# Each operation, the primary rotates its binlog first with this chance (its own random stream,
# so the seeds' other choices stay what they were): archive replays then span several files,
# compressed ones on odd seeds ([retention] compress = "zstd").
ROTATE_CHANCE = 0.2
# The class the classifier gives each disaster (mass rows aside: the tables stay small).
DISASTER_CLASSES = {
    "drop": "drop_table",
    "truncate": "truncate",
    "delete_all": "delete_without_where",
    "update_all": "update_without_where",
}
# `drkit asof` now and then (DRKIT_TORTURE_ASOF=5 makes it frequent, to hunt in it).
ASOF_WEIGHT = float(os.environ.get("DRKIT_TORTURE_ASOF", "0.6"))
REPLICA_KEYS = ("Using_Gtid", "Slave_SQL_Running", "Relay_Log_File", "Relay_Log_Pos", "SQL_Delay")


class TortureFailure(AssertionError):
    """An invariant broke; the message carries the seed and the operations so far."""


@dataclass
class Plan:
    """A recover command and what the model says it must do."""

    args: list[str]
    span: list[int]  # transactions it applies, in order
    frontier: int  # the delayed replica's frontier afterwards
    skips: set[int]
    unnamed: list[Tx]  # destructive transactions it would apply that were not named
    words: str

    @property
    def refused(self) -> bool:
        return bool(self.unnamed)


@dataclass
class Torture:
    box: Sandbox
    seed: int
    rng: random.Random = field(init=False)
    model: Model = field(default_factory=Model)
    trace: list[str] = field(default_factory=list)
    primary_alive: bool = True
    # Drive a pre-#12 CLI: no --through (destructive transactions count as named), freeze --yes,
    # a refusal need not name a pid. For probing an older engine past its missing flags.
    pre12: bool = False
    findings: list[str] = field(default_factory=list)
    # The targets of the last recovery that ran: the engine keeps them resolved (latest-destructive,
    # now) until `drkit resume` or a recovery with other targets (invariant 2).
    recorded: tuple[str, ...] | None = None
    last_write_second: int = 0
    asof_copies: int = 0  # tables `asof --into` wrote, for fresh names
    _conns: dict[int, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.rotate_rng = random.Random(f"{self.seed}/rotate")
        self.compress = self.seed % 2 == 1

    # -- the run ------------------------------------------------------------------------------

    def run(self, operations: int) -> None:
        self.setup()
        for number in range(operations):
            # One random stream per operation: an operation that went differently (a kill that
            # landed after drkit finished) does not shift the choices of the ones after it.
            self.rng = random.Random(f"{self.seed}/{number}")
            self.rotate_rng = random.Random(f"{self.seed}/{number}/rotate")
            self.step()
        self.finish()

    def step(self) -> None:
        if self.primary_alive and self.rotate_rng.random() < ROTATE_CHANCE:
            self.op_rotate()
        choices: list[tuple[str, float]] = []
        if self.primary_alive:
            choices += [
                ("write", 5),
                ("disaster", 2.5),
                ("index", 0.7),
                ("guard", 0.7),
                ("resume", 1),
                ("kill_primary", 0.8),
                ("partition", 0.4),
                ("refused_login", 0.4),
                ("overtake", 0.4),
            ]
        else:
            choices += [("restart_primary", 1.5)]
        choices += [
            ("asof", ASOF_WEIGHT),
            ("freeze", 0.7),
            ("recover", 4),
            ("recover_killed", 2),
            ("concurrent", 1),
            ("prune", 0.7),
        ]
        names, weights = zip(*choices, strict=True)
        op = self.rng.choices(names, weights)[0]
        getattr(self, "op_" + op)()

    def fail(self, problem: str) -> None:
        ops = "\n".join(f"  {i:3}. {line}" for i, line in enumerate(self.trace, 1))
        raise TortureFailure(
            f"torture seed {self.seed} (replay: DRKIT_TORTURE_SEED={self.seed}): {problem}\n"
            f"operations:\n{ops}"
        )

    def note(self, line: str) -> None:
        self.trace.append(line)

    # -- setup and the end --------------------------------------------------------------------

    def setup(self) -> None:
        retention = '\n[retention]\nkeep = "1s"\ninterval = "off"\n'  # for op_prune
        if self.compress:
            retention += 'compress = "zstd"\n'
        with self.box.config_file.open("a", encoding="utf-8") as config:
            config.write(retention)
        self.execute(0, ["CREATE DATABASE tt"], [])
        for domain, tables in DOMAIN_TABLES.items():
            for table in tables:
                self.execute(
                    domain,
                    [
                        f"CREATE TABLE {table} (id INT PRIMARY KEY, v INT NOT NULL, "
                        "note VARCHAR(40) NOT NULL)"
                    ],
                    [Effect("create", table)],
                )
        for domain, tables in DOMAIN_TABLES.items():
            for table in tables:
                rows = [self.new_row() for _ in range(12)]
                self.execute(domain, [self.insert_sql(table, rows)], self.puts(table, rows))
        self.index()
        catch_up_delayed(self.box)
        self.model.frontier = len(self.model.log)
        self.note(f"setup: {len(self.model.log)} transactions, applied on delayed")
        self.check_delayed()

    def finish(self) -> None:
        """Bring everything back and let the delayed replica converge with no delay."""
        if not self.primary_alive:
            self.op_restart_primary()
        self.index()
        named = [t for t in self.model.unapplied() if t.destructive]
        args = ["resume", "--yes", *self.through_args(named)]
        done = self.drkit(*args)
        self.note(f"final: drkit {' '.join(args)} -> exit {done.returncode}")
        if done.returncode != 0:
            self.fail(f"final resume failed: {done.stderr.strip()[-800:]}")
        self.check_resumed()
        self.check_resume_record(named)
        self.box.sql("delayed", "STOP SLAVE", "CHANGE MASTER TO MASTER_DELAY = 0", "START SLAVE")
        target = set(str(self.box.value("primary", "SELECT @@gtid_binlog_pos")).split(","))

        def converged() -> bool:
            status = self.box.replica_status("delayed")
            if status["Last_SQL_Errno"] or status["Last_IO_Errno"]:
                self.fail(
                    f"with no delay, replication broke: {status['Last_SQL_Errno']} "
                    f"{status['Last_SQL_Error']} {status['Last_IO_Error']}"
                )
            return self.slave_pos() == target

        try:
            wait_for(converged, timeout=60, what="the delayed replica to converge")
        except AssertionError as exc:
            self.fail(str(exc))
        self.model.frontier = len(self.model.log)
        self.note("final: delay 0, converged")
        self.check_delayed()
        problems = diff(self.model.primary, self.read_tables("primary"))
        if problems:
            self.fail("the primary differs from the model: " + "; ".join(problems))

    # -- writing on the primary ---------------------------------------------------------------

    def conn(self, domain: int) -> Any:
        conn = self._conns.get(domain)
        if conn is None:
            conn = self.box.connect("primary")
            conn.cursor().execute(f"SET SESSION gtid_domain_id = {domain}")
            self._conns[domain] = conn
        return conn

    def execute(
        self, domain: int, sql: list[str], effects: list[Effect], disaster: str | None = None
    ) -> Tx | None:
        cur = self.conn(domain).cursor()
        cur.execute("SELECT @@last_gtid")
        previous = cur.fetchall()[0][0]
        if len(sql) > 1:
            cur.execute("START TRANSACTION")
        for statement in sql:
            cur.execute(statement)
        if len(sql) > 1:
            cur.execute("COMMIT")
        cur.execute("SELECT @@last_gtid")
        gtid = str(cur.fetchall()[0][0])
        if gtid == previous:
            return None  # nothing was logged (no rows changed)
        tx = Tx(len(self.model.log), domain, sql, effects, disaster, gtid)
        return self.model.record(tx)

    def new_row(self) -> tuple[int, int, str]:
        return (self.model.fresh_id(), self.rng.randrange(1000), self.rng.choice(WORDS))

    @staticmethod
    def insert_sql(table: str, rows: list[tuple[int, int, str]]) -> str:
        return f"INSERT INTO {table} VALUES " + ", ".join(f"({i}, {v}, '{n}')" for i, v, n in rows)

    @staticmethod
    def puts(table: str, rows: list[tuple[int, int, str]]) -> list[Effect]:
        return [Effect("put", table, row[0], row) for row in rows]

    def new_second(self) -> None:
        """Start a batch of writes in a second of its own, early in it.

        --until-time works to the second: with each operation's transactions in a second of their
        own, the transactions a time target covers depend on the seed, not on timing."""
        while int(time.time()) <= self.last_write_second or time.time() % 1 > 0.5:
            time.sleep(0.02)
        self.last_write_second = int(time.time())

    def op_write(self) -> None:
        self.new_second()
        domain = self.rng.choice((0, 1))
        count = self.rng.randint(1, 4)
        for _ in range(count):
            sql: list[str] = []
            effects: list[Effect] = []
            live = self.model.live(domain)
            # One statement per table: each one's rows are the model's rows before the transaction.
            for table in self.rng.sample(live, k=min(len(live), self.rng.choice((1, 1, 2)))):
                rows = self.model.primary[table]
                assert rows is not None
                what = self.rng.choice(("insert", "insert", "update", "delete"))
                if what != "insert" and len(rows) > 3:
                    row_id = self.rng.choice(sorted(rows))
                    if what == "update":
                        row = (row_id, self.rng.randrange(1000), self.rng.choice(WORDS))
                        sql.append(
                            f"UPDATE {table} SET v = {row[1]}, note = '{row[2]}' WHERE id = {row_id}"
                        )
                        effects.append(Effect("put", table, row_id, row))
                    else:
                        sql.append(f"DELETE FROM {table} WHERE id = {row_id}")
                        effects.append(Effect("del", table, row_id))
                else:
                    new = [self.new_row() for _ in range(self.rng.randint(1, 3))]
                    sql.append(self.insert_sql(table, new))
                    effects += self.puts(table, new)
            self.execute(domain, sql, effects)
        self.note(f"write: {count} transactions in domain {domain}")

    def op_disaster(self) -> None:
        self.new_second()
        domain = self.rng.choice((0, 1))
        live = self.model.live(domain)
        kinds = [k for k in DISASTERS if k != "drop" or len(live) > 1]
        kind = self.rng.choice(kinds)
        table = self.rng.choice(live)
        rows = self.model.primary[table]
        assert rows is not None
        sql, effects = self.disaster_sql(kind, table)
        statements = [sql]
        # A DML statement that changes no row leaves nothing in the binlog to flag.
        logged = bool(rows) or kind in ("drop", "truncate")
        expected = [(DISASTER_CLASSES[kind], table)] if logged else []
        # Now and then a second DML disaster in the same transaction, on another table: the
        # index must keep both findings (drawn last: the choices above stay as they were).
        others = [t for t in live if t != table and self.model.primary[t]]
        if kind in ("delete_all", "update_all") and others and self.rng.random() < 0.3:
            second_kind = self.rng.choice(("delete_all", "update_all"))
            second = self.rng.choice(others)
            second_sql, second_effects = self.disaster_sql(second_kind, second)
            statements.append(second_sql)
            effects += second_effects
            expected.append((DISASTER_CLASSES[second_kind], second))
            kind = f"{kind}+{second_kind}"
        tx = self.execute(domain, statements, effects, kind)
        if tx is not None:
            tx.expected_findings = tuple(expected)
        shown = "; ".join(statements)
        self.note(f"disaster: {shown} in domain {domain} -> {tx.gtid if tx else 'not logged'}")

    def disaster_sql(self, kind: str, table: str) -> tuple[str, list[Effect]]:
        rows = self.model.primary[table]
        assert rows is not None
        if kind == "drop":
            return f"DROP TABLE {table}", [Effect("drop", table)]
        if kind == "truncate":
            return f"TRUNCATE TABLE {table}", [Effect("truncate", table)]
        if kind == "delete_all":
            return f"DELETE FROM {table}", [Effect("del", table, i) for i in sorted(rows)]
        sql = f"UPDATE {table} SET v = v + 1000, note = 'mass'"
        return sql, [
            Effect("put", table, i, (i, row[1] + 1000, "mass")) for i, row in sorted(rows.items())
        ]

    # -- the index ----------------------------------------------------------------------------

    def index(self) -> None:
        done = self.drkit("index")
        if done.returncode != 0:
            self.fail(f"drkit index failed: {done.stderr.strip()[-500:]}")
        self.refresh_index()
        self.check_archive()

    def op_rotate(self) -> None:
        self.box.sql("primary", "FLUSH BINARY LOGS")
        self.note("rotate: FLUSH BINARY LOGS on the primary")

    def check_archive(self) -> None:
        """With compression, every file the index read past is compressed (and only those)."""
        config = self.box.config()
        conn = sqlite3.connect(config.index.path)
        try:
            (checkpoint,) = conn.execute("SELECT file FROM checkpoint").fetchone()
        finally:
            conn.close()
        current = int(str(checkpoint).rsplit(".", 1)[1])
        names = sorted(
            p.name
            for p in config.index.archive_dir.iterdir()
            if "-bin." in p.name and not p.name.startswith(".")
        )
        for name in names:
            packed = name.endswith(".zst")
            behind = int(name.removesuffix(".zst").rsplit(".", 1)[1]) < current
            if packed != (self.compress and behind):
                self.fail(
                    f"archive file {name}: compressed {packed}, checkpoint {checkpoint}, "
                    f"compress {self.compress}"
                )

    def refresh_index(self) -> None:
        done = self.drkit("events", "--limit", "1000000", "--json")
        if done.returncode != 0:
            self.fail(f"drkit events failed: {done.stderr.strip()[-500:]}")
        by_gtid = {event["gtid"]: event for event in json.loads(done.stdout)}
        indexed = 0
        found_any = False
        for tx in self.model.log:
            event = by_gtid.get(tx.gtid)
            if event is None and tx.index_id is not None and not found_any:
                indexed += 1  # pruned: the index now starts after it
                continue
            if event is None:
                break
            if not found_any:
                self.model.first_indexed = tx.n
            found_any = True
            if tx.index_id is not None and event["id"] != tx.index_id:
                self.fail(f"{tx.label()} changed its index id from {tx.index_id} to {event['id']}")
            tx.index_id = event["id"]
            tx.timestamp = event["timestamp"]
            tx.destructive = event["destructive"] is not None
            if tx.disaster and not tx.destructive:
                self.findings.append(f"seed {self.seed}: {tx.label()} is not flagged destructive")
            stored = [(f["class"], f["tables"]) for f in event["findings"]]
            if missing := tx.missing_findings(stored):
                self.fail(f"the index lacks findings of {tx.label()}: {missing}; it has {stored}")
            indexed += 1
        self.model.indexed = indexed
        if not found_any:
            self.model.first_indexed = len(self.model.log)  # pruned to nothing

    def op_index(self) -> None:
        self.index()
        self.note(f"index: {self.model.indexed} transactions indexed")
        self.check_delayed()

    def op_guard(self) -> None:
        done = self.drkit("guard", "--once", "--json")
        self.note(f"guard --once -> exit {done.returncode}")
        if done.returncode != 0:
            self.fail(f"guard --once failed: {done.stderr.strip()[-500:]}")
        by_gtid = {tx.gtid: tx for tx in self.model.log}
        for judged in json.loads(done.stdout)["findings"]:
            tx = by_gtid.get(judged["transaction"]["gtid"])
            verdicts = [(v["class"], v["tables"]) for v in judged["findings"]]
            if tx is not None and (missing := tx.missing_findings(verdicts)):
                self.fail(f"the guard did not judge every finding of {tx.label()}: {missing}")
        self.refresh_index()
        self.check_delayed()

    def op_overtake(self) -> None:
        """The delayed replica applies past what the index holds (nobody followed the primary):
        what it applied is unknown to drkit, never "nothing". Freeze says so instead of counting
        pending transactions; recover and resume refuse and change nothing; indexing ends it."""
        self.op_write()  # at least one transaction the index does not hold
        catch_up_delayed(self.box)
        self.model.frontier = len(self.model.log)
        self.note(
            f"overtake: delayed applied all {len(self.model.log)}, {self.model.indexed} indexed"
        )
        self.check_delayed()
        done = self.drkit("freeze", "--json")
        self.note(f"drkit freeze --json (index behind) -> exit {done.returncode}")
        report = json.loads(done.stdout) if done.returncode == 0 else {}
        if "the index is behind what delayed has applied" not in str(report.get("index_behind")):
            self.fail(f"freeze with the index behind did not say so: {done.stdout[-500:]}")
        if report.get("pending") is not None or report.get("first_destructive") is not None:
            self.fail(f"freeze counted pending transactions the index cannot know: {report}")
        for args in (
            ["recover", "--until-time", "now", "--yes", "--json"],
            ["resume", "--yes", "--json"],
        ):
            before = self.snapshot()
            done = self.drkit(*args)
            self.note(f"drkit {' '.join(args)} (index behind) -> exit {done.returncode}")
            self.expect_refusal(done, before, args[0])
            if "the index is behind what delayed has applied" not in done.stdout:
                self.fail(
                    f"{args[0]} refused without saying the index is behind: {done.stdout[-500:]}"
                )
        self.index()
        self.note(f"index: {self.model.indexed} transactions indexed")

    def op_prune(self) -> None:
        """`drkit prune` (keep 1s), then now and then `drkit index --rebuild`: nothing a recovery
        needs goes (the recoveries after it say so), and every id stays what it was."""
        done = self.drkit("prune", "--yes", "--json")
        removed = json.loads(done.stdout).get("rows_removed") if done.returncode == 0 else None
        self.note(f"prune -> exit {done.returncode}, {removed} rows removed")
        if done.returncode != 0:
            self.fail(f"prune failed: {done.stderr.strip()[-500:]}")
        if self.rng.random() < 0.5:
            done = self.drkit("index", "--rebuild", "--yes")
            self.note(f"index --rebuild -> exit {done.returncode}")
            if done.returncode != 0:
                self.fail(f"index --rebuild failed: {done.stderr.strip()[-500:]}")
        self.refresh_index()
        self.check_delayed()

    # -- asof ---------------------------------------------------------------------------------

    def op_asof(self) -> None:
        """`drkit asof` of a table the delayed replica holds, at the commit time of a transaction
        it applied: the rows must be the model's at T, or a refusal the model predicts."""
        if self.primary_alive:
            self.index()
        model = self.model
        present = [t for t, rows in model.delayed().items() if rows is not None]
        # Each commit second the replica consumed once (setup's many transactions share one),
        # skipped ones' too: T lands on every stretch of the history alike.
        moments = sorted(
            {
                stamp
                for n in range(min(model.frontier, model.indexed))
                if (stamp := model.log[n].timestamp)
            }
        )
        if not present or not moments:
            self.note("asof: no table or moment; skipped")
            return
        table = self.rng.choice(sorted(present))
        stamp = self.rng.choice(moments)
        how = self.rng.choice(("json", "json", "where", "csv", "into"))
        if how == "into" and not self.primary_alive:
            how = "json"
        case = AsofCase(table, stamp, how, expected_refusals(model, table, stamp))
        args = ["asof", "--table", table, "--at", stamp]
        into = ""
        if how == "where":
            args += ["--where", "v < 500", "--json"]
        elif how == "csv":
            args += ["--csv", str(self.box.directory / "asof.csv")]
        elif how == "into":
            self.asof_copies += 1
            into = f"tt.asof_{self.asof_copies}"
            args += ["--into", into, "--yes", "--json"]
            self.new_second()  # its transactions in a second of their own, like every write
        else:
            args.append("--json")
        before = self.snapshot()
        binlog_before = self.primary_positions() if into else {}
        done = self.drkit(*args, timeout=240)
        if into:
            self.record_foreign("asof --into " + into, binlog_before)
        verdict = f"must refuse: {', '.join(case.refusals)}" if case.refusals else "must answer"
        self.note(f"drkit {' '.join(args)} [{verdict}] -> exit {done.returncode}")
        if self.snapshot() != before:
            self.fail(f"asof changed the delayed replica: {before} -> {self.snapshot()}")
        if case.refusals:
            self.judge_asof_refusal(case, done, into)
            return
        if done.returncode != 0:
            self.fail(
                f"asof failed (exit {done.returncode}): {(done.stdout + done.stderr)[-1200:]}"
            )
        self.check_asof_rows(case, done.stdout, into)

    def judge_asof_refusal(
        self, case: AsofCase, done: subprocess.CompletedProcess[str], into: str
    ) -> None:
        said = done.stdout + done.stderr
        if done.returncode != 3:
            self.fail(
                f"asof {case.table} at {case.at} must be refused ({', '.join(case.refusals)}) "
                f"but ended with exit {done.returncode}: {said[-800:]}"
            )
        if not any(words in said for words in case.refusals.values()):
            self.fail(
                f"asof {case.table} at {case.at} was refused without naming why "
                f"(expected one of {list(case.refusals.values())}): {said[-800:]}"
            )
        if into and self.box.value(
            "primary",
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'tt' "
            f"AND TABLE_NAME LIKE '{into.split('.')[1]}%'",
        ):
            self.fail(f"a refused asof --into left a table named like {into} on the primary")

    def check_asof_rows(self, case: AsofCase, stdout: str, into: str) -> None:
        if case.how == "csv":
            got = rows_of_csv(self.box.directory / "asof.csv")
        elif into:
            report = json.loads(stdout)
            if report.get("verified") is not True:
                self.fail(f"asof --into not verified: {report}")
            rows = self.box.sql("primary", f"SELECT id, v, note FROM {into}")
            got = {r["id"]: (r["id"], r["v"], r["note"]) for r in rows}
            self.drop_copy(into)
        else:
            got = rows_of_json(json.loads(stdout)["rows"])
        expected = case.expected(self.model)
        if got != expected:
            problems = diff({case.table: expected}, {case.table: got})
            self.fail(f"asof {case.table} at {case.at} ({case.how}): {'; '.join(problems)}")

    def drop_copy(self, table: str) -> None:
        """Unlogged: the model's tables and every later classification stay as they were (the
        replicas keep their copy of it, outside the tables the model reads)."""
        self.box.sql("primary", "SET SESSION sql_log_bin = 0", f"DROP TABLE {table}")

    def primary_positions(self) -> dict[int, str]:
        text = str(self.box.value("primary", "SELECT @@gtid_binlog_pos") or "")
        return {int(part.split("-")[0]): part for part in text.split(",") if part}

    def record_foreign(self, what: str, before: dict[int, str]) -> None:
        """The transactions drkit itself wrote on the primary (no effect on the model's tables)
        join the log, so every GTID the binlog holds is the model's."""
        for domain, last in sorted(self.primary_positions().items()):
            server, seq = last.split("-")[1], int(last.split("-")[2])
            first = int(before[domain].split("-")[2]) + 1 if domain in before else 1
            for number in range(first, seq + 1):
                gtid = f"{domain}-{server}-{number}"
                self.model.record(Tx(len(self.model.log), domain, [what], [], gtid=gtid))

    # -- freeze, resume -----------------------------------------------------------------------

    def op_freeze(self) -> None:
        args = ["freeze"] + (["--yes"] if self.rng.random() < 0.5 or self.pre12 else [])
        done = self.drkit(*args)
        self.note(f"drkit {' '.join(args)} -> exit {done.returncode}")
        if done.returncode != 0:
            self.fail(f"freeze failed: {done.stderr.strip()[-500:]}")
        if self.box.replica_status("delayed")["Slave_SQL_Running"] != "No":
            self.fail("after freeze the applier still runs")
        self.check_delayed()

    def op_resume(self) -> None:
        pending = [t for t in self.model.unapplied() if t.destructive]
        named = pending if self.rng.random() < 0.8 or self.pre12 else []
        args = ["resume", "--yes", *self.through_args(named)]
        unnamed = [t for t in pending if t not in named]
        before = self.snapshot()
        done = self.drkit(*args)
        self.note(
            f"drkit {' '.join(args)} -> exit {done.returncode}"
            + (f" (must refuse: {[t.label() for t in unnamed]})" if unnamed else "")
        )
        if unnamed:
            self.expect_refusal(done, before, "resume")
            return
        if done.returncode != 0:
            self.fail(f"resume failed: {done.stderr.strip()[-800:]}")
        self.recorded = None
        self.check_resumed()
        self.check_resume_record(named)
        self.check_delayed()

    def check_resume_record(self, named: list[Tx]) -> None:
        """The recovery record names exactly the destructive transactions the resume was told
        to apply (the alarm's NAMED state reads it); with nothing named, any record says none."""
        if self.pre12 or any(t.index_id is None for t in named):
            return  # a pre-#12 CLI names nothing; an unindexed one has no id to record
        path = self.box.directory / "drkit-recovery.json"
        record = json.loads(path.read_text()) if path.exists() else None
        expected = sorted(t.index_id for t in named if t.index_id is not None)
        if record is None:
            if expected:
                self.fail(f"resume named {expected} but left no recovery record")
            return
        if record.get("status") != "resumed" and record.get("status") != "abandoned":
            self.fail(f"after resume the record's status is {record.get('status')}")
        if sorted(record.get("resumed_through") or []) != expected:
            self.fail(f"resume named {expected}; the record says {record.get('resumed_through')}")

    def check_resumed(self) -> None:
        try:
            status = wait_for(
                lambda: (
                    (s := self.box.replica_status("delayed"))["Slave_SQL_Running"] == "Yes"
                    and (s["Slave_IO_Running"] == "Yes" or not self.primary_alive)
                    and s
                ),
                timeout=15,
                what="both threads to run after resume",
            )
        except AssertionError as exc:
            self.fail(f"{exc}: {self.box.replica_status('delayed')}")
        if status["Using_Gtid"] != "Slave_Pos":
            self.fail(f"after resume Using_Gtid is {status['Using_Gtid']}")
        if status["Last_SQL_Errno"] or status["Last_IO_Errno"]:
            self.fail(f"after resume: {status['Last_SQL_Error']} {status['Last_IO_Error']}")
        if int(status["SQL_Delay"]) != 3600:
            self.fail(f"after resume the delay is {status['SQL_Delay']}")

    # -- the primary --------------------------------------------------------------------------

    def op_kill_primary(self) -> None:
        self.index()
        status = self.box.replica_status("delayed")
        receiving = status["Slave_IO_Running"] != "No"
        if receiving:
            target = set(str(self.box.value("primary", "SELECT @@gtid_binlog_pos")).split(","))

            def received() -> bool:
                pos = str(self.box.replica_status("delayed")["Gtid_IO_Pos"])
                return set(pos.split(",")) >= target

            try:
                wait_for(received, timeout=20, what="the delayed replica to receive everything")
            except AssertionError as exc:
                self.fail(str(exc))
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()
        self.box.kill("primary")
        self.primary_alive = False
        self.note(f"kill -9 primary (delayed relay logs {'complete' if receiving else 'short'})")
        self.check_delayed()

    def op_restart_primary(self) -> None:
        self.box.start("primary")
        self.primary_alive = True
        status = self.box.replica_status("delayed")
        if status["Slave_IO_Running"] != "No":
            # A receiver retries once a minute; a test has no minute to wait.
            self.box.sql("delayed", "STOP SLAVE IO_THREAD", "START SLAVE IO_THREAD")
        self.note("restart primary")
        self.check_delayed()

    def op_refused_login(self) -> None:
        """Invariant 5: a wrong password for the primary is exit 2, the delayed replica untouched."""
        text = self.box.config_file.read_text()
        head, primary = text.split("[nodes.primary]", 1)
        line = next(x for x in primary.splitlines() if x.startswith("password"))
        broken = self.box.directory / "wrong-password.toml"
        broken.write_text(head + "[nodes.primary]" + primary.replace(line, 'password = "wrong"', 1))
        broken.chmod(0o600)
        plan = self.prepare()
        if plan is None:
            self.note("refused login: nothing unapplied, skipped")
            return
        before = self.snapshot()
        done = run_drkit(broken, *plan.args)
        self.note(
            f"drkit {' '.join(plan.args)} with a wrong primary password -> exit {done.returncode}"
        )
        if done.returncode != 2:
            self.fail(
                f"a refused login is not exit 2: {(done.stdout + done.stderr).strip()[-600:]}"
            )
        if self.snapshot() != before:
            self.fail(f"a refused login changed the delayed replica: {before} -> {self.snapshot()}")
        self.check_delayed()

    def op_partition(self) -> None:
        self.box.sql("delayed", "STOP SLAVE IO_THREAD")
        self.note("partition: delayed replica's receiver stopped (relay logs fall short)")

    # -- recoveries ---------------------------------------------------------------------------

    def choose_plan(self) -> Plan | None:
        """A recover command over the unapplied, indexed transactions, and its expected effect."""
        model = self.model
        first = model.frontier
        last = model.indexed  # everything indexed; the primary is indexed before recovering
        if last <= first:
            return None
        candidates = list(range(first, last))
        flagged = [n for n in candidates if model.log[n].destructive]
        mode = self.rng.choice(("before", "before", "skip", "skip_until", "until_time"))
        if mode in ("skip", "skip_until") and not flagged:
            mode = "before"
        latest = model.latest_destructive()
        skips: set[int] = set()
        if mode == "before":
            target = self.rng.choice(flagged or candidates)
            if flagged and self.rng.random() < 0.3:
                target = self.rng.choice(candidates)
            ref = self.target_ref(target, latest)
            args, span, frontier = ["--before", ref], list(range(first, target)), target
            words = f"before {model.log[target].label()}"
        elif mode in ("skip", "skip_until"):
            skips = set(self.rng.sample(flagged, k=min(len(flagged), self.rng.choice((1, 1, 2)))))
            args = []
            for n in sorted(skips):
                args += ["--skip", self.target_ref(n, latest)]
            frontier = last
            later = [n for n in candidates if n > max(skips)]
            if mode == "skip_until" and later:
                frontier = self.rng.choice(later)
                args += ["--until", self.target_ref(frontier, None)]
            span = [n for n in range(first, frontier) if n not in skips]
            end = model.log[frontier].label() if frontier < last else "the end"
            words = f"skip {[model.log[n].label() for n in sorted(skips)]} until {end}"
        elif self.rng.random() < 0.3:
            # Resolved when the recovery starts: everything indexed by then, nothing later.
            frontier = last
            args, span = ["--until-time", "now"], list(range(first, frontier))
            words = "until-time now"
        else:
            chosen = self.rng.choice(candidates)
            stamp = model.log[chosen].timestamp
            assert stamp is not None
            frontier = next(
                (n for n in range(first, last) if (model.log[n].timestamp or "") > stamp), last
            )
            args, span = ["--until-time", stamp], list(range(first, frontier))
            words = f"until-time {stamp}"
        named: set[int] = set()
        pending = [n for n in span if model.log[n].destructive]
        if pending and (self.rng.random() < 0.75 or self.pre12):
            named = set(pending)
            args += self.through_args([model.log[n] for n in sorted(named)])
        strategy = "auto"
        if self.primary_alive and self.rng.random() < 0.3:
            strategy = "upstream"
        elif not self.primary_alive and self.rng.random() < 0.35:
            strategy = "archive"
        if targets_of(args) == self.recorded:
            # The same targets as the recorded recovery would continue to the recorded ones; this
            # plan means the targets as of now, so it spells them out.
            args = [self.explicit(arg) for arg in args]
        args = ["recover", *args, "--strategy", strategy, "--yes", "--json", "--timeout", "120"]
        return Plan(
            args, span, frontier, skips, model.unnamed_destructive(span, named), words=words
        )

    def explicit(self, arg: str) -> str:
        if arg == "latest-destructive":
            latest = self.model.latest_destructive()
            assert latest is not None
            return str(latest.index_id)
        if arg == "now":
            stamp = self.model.log[self.model.indexed - 1].timestamp
            assert stamp is not None
            return stamp
        return arg

    def target_ref(self, n: int, latest: Tx | None) -> str:
        tx = self.model.log[n]
        kinds = ["id", "gtid"] + (["latest"] if latest is tx else [])
        kind = self.rng.choice(kinds)
        return (
            "latest-destructive"
            if kind == "latest"
            else str(tx.index_id)
            if kind == "id"
            else tx.gtid
        )

    def through_args(self, txs: list[Tx]) -> list[str]:
        args: list[str] = []
        if self.pre12:
            return args
        for tx in txs:
            args += ["--through", str(tx.index_id) if self.rng.random() < 0.5 else tx.gtid]
        return args

    def prepare(self) -> Plan | None:
        if self.primary_alive:
            self.index()
        return self.choose_plan()

    def op_recover(self) -> None:
        plan = self.prepare()
        if plan is None:
            self.note("recover: nothing unapplied, skipped")
            return
        before = self.snapshot()
        done = self.drkit(*plan.args, timeout=240)
        self.judge(plan, done.returncode, done.stdout, done.stderr, before)

    def judge(
        self, plan: Plan, code: int | None, stdout: str, stderr: str, before: dict[str, Any]
    ) -> None:
        verdict = "must refuse" if plan.refused else "must apply"
        self.note(
            f"drkit {' '.join(plan.args)} [{plan.words}; {verdict} {len(plan.span)} tx] -> exit {code}"
        )
        if plan.refused:
            self.expect_refusal(code, before, "recover", stdout, stderr, plan.unnamed)
            return
        if code != 0:
            failed_checks = ""
            try:
                checks = json.loads(stdout).get("verification", [])
                failed_checks = f"; failed checks: {[c for c in checks if not c.get('ok')]}"
            except (ValueError, AttributeError):
                pass
            self.fail(
                f"recovery failed (exit {code}); {self.where_is_delayed(plan)}{failed_checks}; "
                f"drkit said: {stderr.strip()[-1200:]}"
            )
        try:
            report = json.loads(stdout)
        except ValueError:
            self.fail(f"recover --json printed no JSON: {stdout[-300:]!r}")
        expected = {"upstream"} if self.primary_alive else {"relay", "archive"}
        if "--strategy" in plan.args:
            forced = plan.args[plan.args.index("--strategy") + 1]
            if forced != "auto":
                expected = {forced}
        if report.get("strategy") not in expected:
            self.fail(f"strategy {report.get('strategy')}, expected one of {sorted(expected)}")
        if report.get("verified") is not True:
            self.fail(f"recovery exit 0 but not verified: {report.get('verification')}")
        self.model.frontier = plan.frontier
        self.model.skipped |= plan.skips
        self.recorded = targets_of(plan.args)
        self.check_delayed(after_recovery=True)

    def expect_refusal(
        self,
        done_or_code: Any,
        before: dict[str, Any],
        what: str,
        stdout: str | None = None,
        stderr: str | None = None,
        unnamed: list[Tx] | None = None,
    ) -> None:
        if isinstance(done_or_code, subprocess.CompletedProcess):
            code, stdout, stderr = done_or_code.returncode, done_or_code.stdout, done_or_code.stderr
        else:
            code = done_or_code
        if code != 3:
            self.fail(
                f"{what} crossing an unnamed destructive transaction was not refused "
                f"(exit {code}, expected 3): {(stderr or '').strip()[-600:]}"
            )
        if stdout is not None and "--json" in self.trace[-1]:
            try:
                data = json.loads(stdout)
            except ValueError:
                self.fail(f"the refusal under --json is not JSON on stdout: {stdout[-300:]!r}")
            if not isinstance(data, dict) or data.get("exit") != 3 or not data.get("error"):
                self.fail(f"the refusal's JSON lacks error/exit 3/hint: {data}")
        after = self.snapshot()
        if after != before:
            self.fail(f"a refusal changed the delayed replica: {before} -> {after}")
        self.check_delayed()

    def op_recover_killed(self) -> None:
        plan = self.prepare()
        if plan is None or plan.refused:
            self.note("recover-killed: no plan that should run; a plain recover instead")
            if plan is not None:
                before = self.snapshot()
                done = self.drkit(*plan.args, timeout=240)
                self.judge(plan, done.returncode, done.stdout, done.stderr, before)
            return
        lock_row = self.lockable(plan) if self.rng.random() < 0.5 else None
        pause = round(self.rng.uniform(0.2, 2.5), 2)
        # With a row lock the kill waits for the lock instead of `pause`: half of those runs
        # (by `pause`, so the seed's other choices stay as they were) keep the lock held while
        # the re-run starts. The killed run's statement still waits on it in the server, and
        # the re-run must wait for that session to end before it reads the facts it plans on.
        hold_through_rerun = lock_row is not None and pause < 1.35
        # Targets resolved at the start (latest-destructive, now) must not move on a re-run.
        second_disaster = (
            self.primary_alive
            and (
                ("latest-destructive" in plan.args and "--before" in plan.args)
                or "now" in plan.args
            )
            and self.rng.random() < 0.6
        )
        before = self.snapshot()
        with ExitStack() as stack:
            if lock_row is not None:
                stack.enter_context(row_lock(self.box, "delayed", *lock_row))
            proc = drkit_popen(self.box, *plan.args)
            kids: dict[int, str] = {}
            deadline = time.monotonic() + (30 if lock_row else pause)
            while time.monotonic() < deadline and proc.poll() is None:
                kids |= children_of(proc.pid)
                if lock_row and self.waiting(proc, kids):
                    time.sleep(0.3)
                    kids |= children_of(proc.pid)
                    break
                time.sleep(0.05)
            if proc.poll() is not None:
                stack.close()
                out, err = proc.communicate()
                self.note(f"recover-killed: finished before the kill ({pause}s)")
                self.judge(plan, proc.returncode, out, err, before)
                if second_disaster:  # the same writes either way: the model stays the same
                    self.last_write_second = int(time.time())
                    self.op_disaster()
                return
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate()
            self.recorded = targets_of(plan.args)
            where = f"row {lock_row}" if lock_row else f"{pause}s"
            self.note(
                f"drkit {' '.join(plan.args)} [{plan.words}] killed -9 at {where}; children "
                f"{sorted(set(kids.values()))}"
            )
            time.sleep(1.0)
            orphans = {pid: name for pid, name in kids.items() if alive(pid)}
            for pid in orphans:
                os.kill(pid, signal.SIGKILL)
            if orphans:
                self.fail(f"children outlived drkit's kill -9: {orphans}")
            self.check_prefix(plan)
            if not hold_through_rerun:
                stack.close()
            if second_disaster:
                # In a later second than the killed run's "now", which it resolved before this.
                self.last_write_second = int(time.time())
                self.op_disaster()
            before = self.snapshot()
            self.prepare()
            if hold_through_rerun:
                code, out, err = self.rerun_releasing(plan, stack)
            else:
                done = self.drkit(*plan.args, timeout=240)
                code, out, err = done.returncode, done.stdout, done.stderr
        self.note("  re-run of the same command:")
        self.judge(plan, code, out, err, before)

    def rerun_releasing(self, plan: Plan, lock: ExitStack) -> tuple[int | None, str, str]:
        """Start the re-run while the row lock is held, then release it: the outcome must be
        the same as with the lock gone before (drkit settles a killed run's sessions first)."""
        proc = drkit_popen(self.box, *plan.args)
        time.sleep(1.0)  # long enough for the re-run to find the killed run's waiting session
        lock.close()
        self.note("  (the row lock was held for the first second of the re-run)")
        try:
            out, err = proc.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            self.fail(f"drkit {' '.join(plan.args)} did not end within 240s")
            raise
        return proc.returncode, out, err

    def waiting(self, proc: subprocess.Popen[str], kids: dict[int, str]) -> bool:
        if {"mariadb-binlog", "mariadb"} & set(kids.values()):
            return True
        try:
            state = json.loads((self.box.directory / "drkit-recovery.json").read_text())
        except (OSError, ValueError):
            return False
        return state.get("pid") == proc.pid and "wait until" in state.get("message", "")

    def lockable(self, plan: Plan) -> tuple[str, int] | None:
        """A row the plan's first changes update or delete, present on the delayed replica now."""
        current = self.model.delayed()
        for n in plan.span:
            for effect in self.model.log[n].effects:
                if effect.kind in ("truncate", "drop", "create"):
                    return None
                rows = current.get(effect.table)
                if rows is not None and effect.row_id in rows:
                    return (effect.table, effect.row_id)
        return None

    def where_is_delayed(self, plan: Plan) -> str:
        """Which prefix of the plan the delayed replica holds, or what it holds beyond it."""
        applied = self.model.applied()
        actual = self.read_tables("delayed")
        for k in range(len(plan.span), -1, -1):
            if not diff(state_of(self.model.log, applied + plan.span[:k]), actual):
                return f"the delayed replica holds {k} of the plan's {len(plan.span)} transactions"
        beyond = [
            self.model.log[n]
            for n in range(plan.frontier, len(self.model.log))
            if not diff(state_of(self.model.log, applied + plan.span + [n]), actual)
        ]
        if beyond:
            return (
                "THE DELAYED REPLICA APPLIED BEYOND THE PLAN: "
                + ", ".join(tx.label() for tx in beyond)
                + (" (destructive!)" if any(tx.destructive for tx in beyond) else "")
            )
        return "the delayed replica holds no prefix of the plan: " + "; ".join(
            diff(self.model.delayed(), actual)
        )

    def check_prefix(self, plan: Plan) -> None:
        """After a kill: the delayed replica holds the model for some prefix of the plan's span."""
        applied = self.model.applied()
        actual = self.read_tables("delayed")
        for k in range(len(plan.span), -1, -1):
            if not diff(state_of(self.model.log, applied + plan.span[:k]), actual):
                self.note(f"  after the kill: {k} of {len(plan.span)} transactions applied")
                return
        problems = diff(self.model.delayed(), actual)
        self.fail(
            "after kill -9 the delayed replica holds no prefix of the plan "
            f"(against the state before it: {'; '.join(problems)})"
        )

    def op_concurrent(self) -> None:
        plan = self.prepare()
        lock_row = self.lockable(plan) if plan is not None and not plan.refused else None
        if plan is None or lock_row is None:
            self.note("concurrent: no plan with a row to hold; skipped")
            return
        second = self.rng.choice(("recover", "resume"))
        second_args = plan.args if second == "recover" else ["resume", "--yes"]
        before = self.snapshot()
        with row_lock(self.box, "delayed", *lock_row) as lock:
            proc = drkit_popen(self.box, *plan.args)
            try:
                wait_for(
                    lambda: self.waiting(proc, children_of(proc.pid)) or proc.poll() is not None,
                    timeout=30,
                    what="the first recovery to wait",
                )
            except AssertionError as exc:
                self.fail(str(exc))
            if proc.poll() is not None:  # it never waited on the row: judge it alone
                lock.rollback()
                out, err = proc.communicate()
                self.note("concurrent: the first recovery ended before the second command")
                self.judge(plan, proc.returncode, out, err, before)
                return
            other = self.drkit(*second_args)
            self.note(
                f"concurrent: drkit {' '.join(plan.args)} [{plan.words}] holding row {lock_row}; "
                f"then drkit {' '.join(second_args)} -> exit {other.returncode}"
            )
            named_pid = self.pre12 or str(proc.pid) in other.stdout + other.stderr
            if other.returncode != 3 or not named_pid:
                lock.rollback()
                proc.communicate()
                self.fail(
                    f"the second command was not refused naming pid {proc.pid} (exit "
                    f"{other.returncode}): {(other.stdout + other.stderr).strip()[-600:]}"
                )
            lock.rollback()
            out, err = proc.communicate(timeout=240)
        self.judge(plan, proc.returncode, out, err, before)

    # -- looking at the delayed replica -------------------------------------------------------

    def read_tables(self, node: str) -> Tables:
        present = {
            f"tt.{row['TABLE_NAME']}"
            for row in self.box.sql(
                node, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='tt'"
            )
        }
        tables: Tables = {}
        for table in ALL_TABLES:
            if table in present:
                rows = self.box.sql(node, f"SELECT id, v, note FROM {table} ORDER BY id")
                tables[table] = {r["id"]: (r["id"], r["v"], r["note"]) for r in rows}
        return tables

    def gtids(self, query: str) -> dict[int, str]:
        text = str(self.box.value("delayed", query) or "")
        return {int(part.split("-")[0]): part for part in text.split(",") if part}

    def slave_pos(self) -> set[str]:
        text = str(self.box.value("delayed", "SELECT @@gtid_slave_pos") or "")
        return {part for part in text.split(",") if part}

    def snapshot(self) -> dict[str, Any]:
        status = self.box.replica_status("delayed")
        snap = {k: status.get(k) for k in REPLICA_KEYS}
        snap["gtid_slave_pos"] = sorted(self.slave_pos())
        return snap

    def check_delayed(self, after_recovery: bool = False) -> None:
        problems = diff(self.model.delayed(), self.read_tables("delayed"))
        if problems:
            applied_destructive = [
                self.model.log[n].label()
                for n in range(self.model.frontier, len(self.model.log))
                if self.model.log[n].destructive
            ]
            self.fail(
                "the delayed replica differs from the model: "
                + "; ".join(problems)
                + f" (unapplied destructive per the model: {applied_destructive})"
            )
        status = self.box.replica_status("delayed")
        if status.get("Last_SQL_Errno"):
            self.fail(f"the delayed replica's applier is in error: {status['Last_SQL_Error']}")
        # The delayed replica's own binlog (log_slave_updates) holds each applied transaction once,
        # with its original GTID: per domain the last applied one (or the skipped one after it,
        # if the engine records a skip as an empty transaction).
        binlog = self.gtids("SELECT @@gtid_binlog_pos")
        applied_last = self.model.last_per_domain(self.model.applied())
        consumed_last = self.model.last_per_domain(range(self.model.frontier))
        for domain in set(applied_last) | set(consumed_last) | set(binlog):
            if binlog.get(domain) not in (applied_last.get(domain), consumed_last.get(domain)):
                self.fail(
                    f"the delayed replica's binlog ends domain {domain} at {binlog.get(domain)}, "
                    f"expected {applied_last.get(domain)} (the last applied transaction)"
                )
        if after_recovery:
            want = self.model.expected_slave_pos()
            got = self.slave_pos()
            if got != want:
                self.fail(
                    f"after the recovery gtid_slave_pos is {sorted(got)}, expected {sorted(want)}"
                )
            if status["Slave_SQL_Running"] != "No":
                self.fail("after the recovery the applier runs")

    def drkit(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        try:
            # An empty stdin, never the terminal pytest may run in: no prompt can wait for a key.
            return self.box.drkit(*args, input="", timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"drkit {' '.join(args)} did not end within {timeout}s")
            raise


def targets_of(args: list[str]) -> tuple[str, ...]:
    """What makes two recover commands "the same" for the recorded target: their target options."""
    flags = ("--before", "--skip", "--until", "--until-time")
    return tuple(f"{flag} {value}" for flag, value in itertools.pairwise(args) if flag in flags)
