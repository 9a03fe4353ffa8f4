"""The index writer process: classifies and commits the batches its indexer sends (see writer.py).

Its one argument is the index. It reads messages (`writer.read_message`) on stdin: first the
rules, the id of the first transaction it will store and whether to load in bulk
(IndexStore.bulk_load: the deferred indexes are built after the last batch, before it exits),
then one per batch: the scanned transactions, which it classifies and lays out, or (when it was
behind) the index's rows the indexer laid out itself. After each commit it answers
`("ok", first_id, count)` on stdout, or `("error", text)` once and exits. End of input means the
indexer is done: it exits 0.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from pathlib import Path
from typing import IO

from drkit.errors import DrkitError
from drkit.index.recording import Recorder
from drkit.index.store import IndexStore
from drkit.index.writer import LAID_OUT, read_message, write_message
from drkit.model.coords import BinlogCoord


def main() -> int:
    source, answers = sys.stdin.buffer, sys.stdout.buffer
    header = read_message(source)
    if header is None:
        return 0
    rules, next_id, bulk = header
    try:
        problem = _serve(Path(sys.argv[1]), Recorder(rules), next_id, bulk, source, answers)
    except BrokenPipeError:
        return 1  # the indexer is gone
    if problem is None:
        return 0
    write_message(answers, ("error", problem))
    return 1


def _serve(
    index_path: Path,
    recorder: Recorder,
    next_id: int,
    bulk: bool,
    source: IO[bytes],
    answers: IO[bytes],
) -> str | None:
    """Commit batches until the input ends; what went wrong, or None."""
    try:
        store = IndexStore(index_path)
    except DrkitError as exc:
        return exc.message
    try:
        with store.bulk_load() if bulk else contextlib.nullcontext():
            while (message := read_message(source)) is not None:
                if message[0] == LAID_OUT:
                    # The store refuses rows whose first id is not its next: the two counts agree.
                    _, rows, table_rows, finding_rows, file, pos = message
                else:
                    _, batch, file, pos = message
                    rows, table_rows, finding_rows = recorder.rows(batch, next_id)
                store.append_rows(rows, table_rows, BinlogCoord(file, pos), finding_rows)
                write_message(answers, ("ok", next_id, len(rows)))
                next_id += len(rows)
    except DrkitError as exc:
        return exc.message
    except sqlite3.Error as exc:
        return f"cannot write the index {index_path}: {exc}"
    except BrokenPipeError:
        raise  # the indexer is gone: nobody to tell
    except Exception as exc:  # whatever it is, the indexer must hear of it
        return f"{type(exc).__name__}: {exc}"
    finally:
        store.close()
    return None


if __name__ == "__main__":
    sys.exit(main())
