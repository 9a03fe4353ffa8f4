"""The index writer process (drkit/index/writer.py): the index it writes is the one the indexer
writes in its own process, row for row; `on_new` sees every transaction once, in order; and a
failing writer is reported without leaving half a batch behind."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from drkit.classify import ClassifyRules
from drkit.config import ClassifyConfig, Config, IndexConfig, NodeConfig, PasswordSource, Role
from drkit.index import indexer as indexer_module
from drkit.index import writer
from drkit.index.indexer import Indexer
from drkit.index.records import IndexedTransaction
from drkit.index.writer import IndexWriterError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binlog"
EXPECTED: dict[str, Any] = json.loads((FIXTURES / "expected.json").read_text())
FILES = sorted(EXPECTED["files"])


def _config(folder: Path, *, writer_process: bool) -> Config:
    archive = folder / "binlogs"
    archive.mkdir(parents=True)
    for name in FILES:
        shutil.copyfile(FIXTURES / name, archive / name)
    primary = NodeConfig(
        "primary", Role.PRIMARY, "127.0.0.1", 1, "nobody", PasswordSource(literal="")
    )
    return Config(
        folder / "drkit.toml",
        {"primary": primary},
        # A threshold of one byte: any backlog goes to the writer process when it is enabled.
        IndexConfig(folder / "index.db", archive, writer_process, 0.000001),
        # Rules other than the defaults, so that they must reach the writer process to count.
        classify=ClassifyConfig(mass_rows=2, ignore_tables=("*.ignored_*",)),
    )


def _dump(index: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(index)
    try:
        return {
            "transactions": conn.execute("SELECT * FROM transactions ORDER BY id").fetchall(),
            "tables": conn.execute(
                "SELECT * FROM transaction_tables ORDER BY tx_id, schema_name, table_name"
            ).fetchall(),
            "checkpoint": conn.execute("SELECT file, pos FROM checkpoint").fetchall(),
            "findings": conn.execute("SELECT * FROM findings ORDER BY tx_id, seq").fetchall(),
        }
    finally:
        conn.close()


def _index(config: Config, on_new: Any = None) -> int:
    indexer = Indexer(config)
    try:
        return indexer.scan(on_new)
    finally:
        indexer.close()


@pytest.mark.parametrize(
    "lay_out_here_when_queued",
    [0, 10**6],
    ids=["indexer lays out every batch", "writer lays out every batch"],
)
def test_the_writer_process_writes_the_same_index_as_the_indexer_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lay_out_here_when_queued: int
) -> None:
    monkeypatch.setattr(writer, "LAY_OUT_HERE_WHEN_QUEUED", lay_out_here_when_queued)
    inline = _config(tmp_path / "inline", writer_process=False)
    process = _config(tmp_path / "process", writer_process=True)
    expected_count = sum(len(EXPECTED["files"][name]["transactions"]) for name in FILES)
    assert _index(inline) == expected_count
    assert _index(process) == expected_count
    by_inline, by_process = _dump(inline.index.path), _dump(process.index.path)
    assert len(by_process["transactions"]) == expected_count
    assert by_process == by_inline
    # The rules crossed over: mass_rows = 2 turns small multi-row changes into findings.
    classes = {row[13] for row in by_process["transactions"]}
    assert {"mass_update", "mass_delete"} & classes
    assert by_process["checkpoint"][0][0] >= FILES[-1]


def test_messages_cross_marshalled_when_they_can_and_pickled_otherwise() -> None:
    batch = [
        ("0-1-9", "mysql-bin.000001", 4, 90, 1700000000, 1, "dml", (("shop", "t", 1, 0, 0),),
         ("INSERT INTO t VALUES ('é')",), None, ((4, 90),)),
        (None, "mysql-bin.000001", 90, 200, 1700000001, 1, "ddl", (), ("DROP TABLE t",),
         "shop", ()),
    ]  # fmt: skip
    rows = ([(1, None, "f", 1, 4, 90, 0, 1, "dml", "x", 1, 0, 0, None, None, None, b"\x04")], [])
    rules = ClassifyRules(mass_rows=2)
    pipe = io.BytesIO()
    for value in ((writer.SCANNED, batch, "f", 90), (writer.LAID_OUT, *rows), (rules, 7)):
        writer.write_message(pipe, value)
    raw = pipe.getvalue()
    last = len(raw) - len(writer._message((rules, 7))) + writer.FRAME.size
    assert raw[writer.FRAME.size : writer.FRAME.size + 1] == b"m"  # a batch: marshal
    assert raw[last : last + 1] == b"p"  # the rules, a dataclass: pickle
    pipe.seek(0)
    assert writer.read_message(pipe) == (writer.SCANNED, batch, "f", 90)
    assert writer.read_message(pipe) == (writer.LAID_OUT, *rows)
    assert writer.read_message(pipe) == (rules, 7)
    assert writer.read_message(pipe) is None


def test_batches_laid_out_by_either_process_in_turn_give_the_same_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexer_module, "BATCH", 5)
    real_submit = writer.ProcessWriter.submit
    kinds: list[str] = []
    real_message = writer._message

    def noting(value: object) -> bytes:
        if isinstance(value, tuple) and value and value[0] in (writer.SCANNED, writer.LAID_OUT):
            kinds.append(value[0])
        return real_message(value)

    def alternating(self: writer.ProcessWriter, batch: Any, checkpoint: Any) -> None:
        # Every other batch laid out here: the ids of both kinds must follow one another.
        monkeypatch.setattr(writer, "LAY_OUT_HERE_WHEN_QUEUED", 0 if len(kinds) % 2 else 10**6)
        real_submit(self, batch, checkpoint)

    monkeypatch.setattr(writer, "_message", noting)
    monkeypatch.setattr(writer.ProcessWriter, "submit", alternating)
    process = _config(tmp_path / "process", writer_process=True)
    inline = _config(tmp_path / "inline", writer_process=False)
    assert _index(process) == _index(inline)
    assert kinds.count(writer.SCANNED) > 2 and kinds.count(writer.LAID_OUT) > 2, kinds
    assert _dump(process.index.path) == _dump(inline.index.path)


def test_the_writer_process_is_this_drkit_whatever_the_working_directory_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "drkit").mkdir(parents=True)
    (elsewhere / "drkit" / "__init__.py").write_text("raise ImportError('another drkit')\n")
    monkeypatch.chdir(elsewhere)
    process = _config(tmp_path / "process", writer_process=True)
    inline = _config(tmp_path / "inline", writer_process=False)
    assert _index(process) == _index(inline) > 0
    assert _dump(process.index.path) == _dump(inline.index.path)


def test_on_new_sees_each_transaction_once_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexer_module, "BATCH", 5)
    config = _config(tmp_path, writer_process=True)
    seen: list[IndexedTransaction] = []
    calls = 0

    def on_new(batch: Sequence[IndexedTransaction]) -> None:
        nonlocal calls
        calls += 1
        seen.extend(batch)

    count = _index(config, on_new)
    assert [t.id for t in seen] == list(range(1, count + 1))
    assert calls > 1, "everything arrived in one call at the end"
    stored = _dump(config.index.path)["transactions"]
    assert [(t.gtid, t.file, t.start_pos) for t in seen] == [(r[1], r[2], r[4]) for r in stored]
    assert any(t.destructive is not None for t in seen)


def test_a_second_scan_adds_nothing(tmp_path: Path) -> None:
    config = _config(tmp_path, writer_process=True)
    first = _index(config)
    before = _dump(config.index.path)
    assert first > 0
    assert _index(config) == 0
    assert _dump(config.index.path) == before


def test_a_failing_writer_is_reported_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, writer_process=True)
    indexer = Indexer(config)
    try:
        before = _dump(config.index.path)
        # Tell the writer a first id the index does not continue with, as if another process
        # had written meanwhile: it must refuse the batch rather than write around it.
        monkeypatch.setattr(indexer.store, "next_id", lambda: 7)
        with pytest.raises(IndexWriterError, match="changed under its writer"):
            indexer.scan()
        assert _dump(config.index.path) == before
    finally:
        indexer.close()


def test_without_a_writer_process_the_indexer_does_the_work_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, writer_process=True)
    monkeypatch.setattr(writer.sys, "executable", str(tmp_path / "no-such-python"))
    reports: list[str] = []
    indexer = Indexer(config, report=reports.append)
    try:
        count = indexer.scan()
    finally:
        indexer.close()
    assert count == sum(len(EXPECTED["files"][name]["transactions"]) for name in FILES)
    assert len(_dump(config.index.path)["transactions"]) == count
    assert any("cannot start the index writer process" in line for line in reports), reports
    assert any(line.endswith("indexing in this process") for line in reports), reports


def test_a_killed_writer_stops_the_scan_and_the_next_scan_finishes_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexer_module, "BATCH", 5)
    config = _config(tmp_path / "process", writer_process=True)
    submitted = 0
    real_submit = writer.ProcessWriter.submit

    def submit_then_kill(self: writer.ProcessWriter, batch: Any, checkpoint: Any) -> None:
        nonlocal submitted
        submitted += 1
        if submitted == 3:
            # Once it has committed something, so that the kill lands between two batches or
            # inside one.
            deadline = time.monotonic() + 10
            while not _dump(config.index.path)["transactions"] and time.monotonic() < deadline:
                time.sleep(0.01)
            self.process.kill()
            self.process.wait()
        real_submit(self, batch, checkpoint)

    monkeypatch.setattr(writer.ProcessWriter, "submit", submit_then_kill)
    with pytest.raises(IndexWriterError, match="writer process"):
        _index(config)
    partial = _dump(config.index.path)
    # Whatever was committed is whole: the checkpoint is the end of the last stored transaction.
    assert partial["transactions"], "the writer committed nothing before it was killed"
    last_end = partial["transactions"][-1][5]
    assert partial["checkpoint"][0][1] == last_end
    monkeypatch.setattr(writer.ProcessWriter, "submit", real_submit)
    _index(config)
    reference = _config(tmp_path / "inline", writer_process=False)
    _index(reference)
    assert _dump(config.index.path) == _dump(reference.index.path)


def test_the_pipe_to_the_writer_process_holds_a_megabyte(tmp_path: Path) -> None:
    """A batch is megabytes: through a 64 kB pipe the writer waited on the sender thread (which
    must take the GIL back for every 64 kB) for a fifth of a long catch-up."""
    import fcntl

    process_writer = writer.ProcessWriter(tmp_path / "index.db", ClassifyRules(), 1)
    try:
        assert process_writer.process.stdin is not None
        size = fcntl.fcntl(process_writer.process.stdin.fileno(), fcntl.F_GETPIPE_SZ)
        assert size == writer.PIPE_BYTES
    finally:
        process_writer.close()
