"""Where scanned transactions go: into the index in this process, or through a writer process.

Scanning the binlog and writing the index each take about half of the indexer's time, and both
are Python, so one process cannot overlap them. For a long catch-up the indexer therefore hands
batches to a second process (`drkit.index.writer_process`) that classifies them and writes the
index while this one goes on scanning: the two halves then run on two cores. Small increments
(following the primary) stay in this process, where starting a child would cost more than it saves.

Either way each batch commits with its checkpoint in one SQLite transaction, in order; both
writers report the id ranges they committed, which is what `on_new` callers read back.
"""

from __future__ import annotations

import contextlib
import fcntl
import marshal
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import drkit
from drkit.classify import ClassifyRules
from drkit.errors import DrkitError
from drkit.index.layout import Scanned
from drkit.index.recording import Recorder
from drkit.index.store import IndexStore
from drkit.io.command import scrubbed_environment, spawn
from drkit.model.coords import BinlogCoord

FRAME = struct.Struct("<Q")  # the length of each message on the pipe
# What a batch message holds: the scanned transactions, or the index's rows laid out already.
SCANNED = "scanned"
LAID_OUT = "laid out"
QUEUED_BATCHES = 4  # batches waiting for the writer process before scanning waits for it
# With this many batches waiting, the writer is the slower half: the indexer classifies and lays
# out the next batch itself and sends the index's rows ready, leaving the writer only SQLite.
# That keeps both cores busy whatever the workload and whatever else the machine is doing, and
# costs nothing extra: rows cross the pipe as cheaply as the scanned tuples do.
LAY_OUT_HERE_WHEN_QUEUED = 2


class IndexWriterError(DrkitError):
    """The process writing the index failed; what it committed before stays valid."""


class BatchWriter(Protocol):
    def submit(self, batch: Sequence[Scanned], checkpoint: BinlogCoord) -> None:
        """Queue a batch and the checkpoint that follows it (an empty batch moves the checkpoint)."""

    def committed(self) -> list[range]:
        """Id ranges committed since the last call, in order."""

    def close(self) -> None:
        """Wait until everything submitted is committed (raises the writer's error, if any)."""

    def abort(self) -> None:
        """Stop at once; batches not yet committed are dropped (the checkpoint stays before them)."""


class InlineWriter:
    """Classify and write each batch right away, in this process (in bulk: see
    IndexStore.bulk_load; the deferred indexes are built when it closes)."""

    def __init__(self, store: IndexStore, rules: ClassifyRules, *, bulk: bool = False) -> None:
        self.store = store
        self.recorder = Recorder(rules)
        self._done: list[range] = []
        self._bulk = bulk
        if bulk:
            store.start_bulk_load()

    def submit(self, batch: Sequence[Scanned], checkpoint: BinlogCoord) -> None:
        first = self.store.next_id()
        rows, table_rows, finding_rows = self.recorder.rows(batch, first)
        self.store.append_rows(rows, table_rows, checkpoint, finding_rows)
        if batch:
            self._done.append(range(first, first + len(batch)))

    def committed(self) -> list[range]:
        done, self._done = self._done, []
        return done

    def close(self) -> None:
        if self._bulk:
            self._bulk = False
            self.store.finish_bulk_load()

    def abort(self) -> None:
        if self._bulk:
            # No build on the way out: the next writing open does it (IndexStore.bulk_load).
            self._bulk = False
            with contextlib.suppress(DrkitError):
                self.store.finish_bulk_load(build=False)


class ProcessWriter:
    """Hand batches to a writer process; it classifies, lays out and commits them in order.

    Pickling happens here (and classifying and laying out too, while the child is behind); a
    sender thread feeds the pipe so that scanning goes on while the child starts up or is busy
    (up to QUEUED_BATCHES ahead), and a reader thread collects the child's acknowledgements.
    The child dies with this process (and with the thread that started it), so a killed
    indexer never leaves a writer committing behind its successor's back.
    """

    def __init__(
        self, index_path: Path, rules: ClassifyRules, first_id: int, *, bulk: bool = False
    ) -> None:
        package_root = str(Path(drkit.__file__).resolve().parents[1])
        path = os.pathsep.join(
            part for part in (package_root, os.environ.get("PYTHONPATH", "")) if part
        )
        try:
            # Its own process group (Ctrl-C reaches drkit only; drkit then stops its writer
            # itself), and it dies with drkit. The index in argv: `ps` tells which it writes.
            # -P: `-m` would put the working directory first on the path, and a drkit found
            # there (another checkout) would be a writer of another version than this one.
            self.process = spawn(
                [sys.executable, "-P", "-m", "drkit.index.writer_process", str(index_path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=None,  # its tracebacks go where drkit's own go
                env=scrubbed_environment(extra={"PYTHONPATH": path}),
            )
        except OSError as exc:
            raise IndexWriterError(f"cannot start the index writer process: {exc}") from None
        assert self.process.stdin is not None and self.process.stdout is not None
        _widen(self.process.stdin)
        self._outbox: queue.Queue[bytes | None] = queue.Queue(QUEUED_BATCHES)
        self._acks: queue.Queue[range] = queue.Queue()
        self.recorder = Recorder(rules)
        self._error: str | None = None
        self._ended = False  # the child closed its end: nothing more will be committed
        self._sender = threading.Thread(
            target=self._send, args=(self.process.stdin,), name="drkit-index-send", daemon=True
        )
        self._reader = threading.Thread(
            target=self._read, args=(self.process.stdout,), name="drkit-index-acks", daemon=True
        )
        self._sender.start()
        self._reader.start()
        self._next_id = first_id  # of the next batch: the child counts the same way
        self._outbox.put(_message((rules, first_id, bulk)))

    def submit(self, batch: Sequence[Scanned], checkpoint: BinlogCoord) -> None:
        self._raise_if_failed()
        first, self._next_id = self._next_id, self._next_id + len(batch)
        if self._outbox.qsize() >= LAY_OUT_HERE_WHEN_QUEUED:
            rows, table_rows, finding_rows = self.recorder.rows(batch, first)
            message: tuple[object, ...] = (
                LAID_OUT,
                rows,
                table_rows,
                finding_rows,
                checkpoint.file,
                checkpoint.pos,
            )
        else:
            message = (SCANNED, batch, checkpoint.file, checkpoint.pos)
        self._put(_message(message))

    def committed(self) -> list[range]:
        done: list[range] = []
        with contextlib.suppress(queue.Empty):
            while True:
                done.append(self._acks.get_nowait())
        return done

    def close(self) -> None:
        self._put(None)  # the end of the input: the child commits what it has, then exits
        self._sender.join()
        self._reader.join()
        code = self.process.wait()
        if self._error is None and code != 0:
            self._error = f"the index writer process exited with status {code}"
        self._raise_if_failed()

    def abort(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.terminate()
        self.process.wait()
        with contextlib.suppress(queue.Full):
            self._outbox.put_nowait(None)  # wake the sender if it waits for work

    def _put(self, blob: bytes | None) -> None:
        """Queue for the sender, waiting while the queue is full, unless the child is gone."""
        while True:
            try:
                self._outbox.put(blob, timeout=0.5)
                return
            except queue.Full:
                self._raise_if_failed()  # a dead writer never makes room
                if self._ended:
                    raise IndexWriterError(
                        "the index writer process stopped unexpectedly"
                    ) from None

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise IndexWriterError(
                f"the index writer process failed: {self._error}",
                hint="what it committed before is kept; rerun `drkit index` to go on from there",
            )

    def _send(self, pipe: IO[bytes]) -> None:
        try:
            while (blob := self._outbox.get()) is not None:
                pipe.write(blob)
                pipe.flush()
        except (BrokenPipeError, ValueError):
            pass  # the child is gone; the reader reports why
        finally:
            with contextlib.suppress(OSError, ValueError):
                pipe.close()

    def _read(self, pipe: IO[bytes]) -> None:
        try:
            while (message := read_message(pipe)) is not None:
                kind, *rest = message
                if kind == "ok":
                    first, count = rest
                    if count:
                        self._acks.put(range(first, first + count))
                else:
                    self._error = str(rest[0])
                    return
            code = self.process.wait()
            if self._error is None and code != 0:
                self._error = f"it stopped with status {code}"
        finally:
            self._ended = True
            pipe.close()


PIPE_BYTES = 1 << 20  # Linux's default pipe-max-size for an unprivileged process


def _widen(pipe: IO[bytes]) -> None:
    """Let the pipe to the writer hold a megabyte rather than 64 kB.

    A batch is a few megabytes. With 64 kB at a time, the sender thread wakes the writer and
    takes the GIL back from the scanning thread some eighty times per batch, each time waiting up
    to the interpreter's switch interval: the writer then sat idle, waiting for bytes, for a fifth
    of a long catch-up. Where the kernel refuses, the default stays (only slower)."""
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _message(value: Any) -> bytes:
    """A framed message: its length, how it is encoded, then the encoded value.

    marshal where it can (plain tuples, strings, numbers, bytes: every batch): it encodes a
    scanned batch in a third of pickle's time, on the indexer's side, which is the slower half
    whenever it sends scanned batches; decoding costs the writer about what unpickling did.
    pickle for the rest (the rules).
    """
    try:
        payload = _MARSHALLED + marshal.dumps(value)
    except ValueError:  # something marshal does not know
        payload = _PICKLED + pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return FRAME.pack(len(payload)) + payload


def write_message(pipe: IO[bytes], value: object) -> None:
    pipe.write(_message(value))
    pipe.flush()


def read_message(pipe: IO[bytes]) -> Any:
    """The next message on the pipe, or None at its end."""
    header = pipe.read(FRAME.size)
    if len(header) < FRAME.size:
        return None
    (length,) = FRAME.unpack(header)
    payload = pipe.read(length)
    if len(payload) < length:
        return None
    # Our own child or parent, the same interpreter, over a private pipe: nobody else's bytes.
    if payload[:1] == _MARSHALLED:
        return marshal.loads(memoryview(payload)[1:])  # noqa: S302
    return pickle.loads(memoryview(payload)[1:])  # noqa: S301


# How a message's value is encoded: its first byte after the length.
_MARSHALLED = b"m"
_PICKLED = b"p"
