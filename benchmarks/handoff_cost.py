"""The Python work between a scanned transaction and the index's rows, each half's CPU seconds.

Over the given binlog files (scanned once, untimed), batch by batch as the indexer hands them to
its writer process, in this one process:
  - baseline: the scanned batch pickled, unpickled, then classified and laid out (what the writer
    process did with every batch before, and does while it keeps up);
  - the same with marshal instead of pickle (what drkit sends since);
  - laid out here: classified and laid out, then the rows pickled and unpickled, or marshalled
    and unmarshalled (what the indexer does while its writer process is behind);
and prints each one's CPU time split by side (sender | receiver) and its ratio to the baseline's
total. The rows of both ways are compared: they must be identical.

    python benchmarks/handoff_cost.py --files /work/bench/files/mysql-bin.0* [--repeat 3]
"""

from __future__ import annotations

import argparse
import marshal
import pickle
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drkit.binlog import scan_file
from drkit.classify import DEFAULT_RULES
from drkit.index.indexer import BATCH
from drkit.index.layout import Scanned
from drkit.index.recording import Recorder, scanned

Split = tuple[float, float]  # CPU seconds on the sending side, on the receiving side


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", nargs="+", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3, help="rounds, the best of each kept")
    args = parser.parse_args()
    found = [scanned(tx) for path in args.files for tx in scan_file(path)]
    batches = [found[i : i + BATCH] for i in range(0, len(found), BATCH)]
    recorder = Recorder(DEFAULT_RULES)
    ways: dict[str, Callable[[Sequence[Scanned], int], Split]] = {
        "baseline: pickle scanned, writer lays out": lambda b, first: _scanned_over(
            b, first, recorder, pickle.dumps, pickle.loads
        ),
        "marshal scanned, writer lays out": lambda b, first: _scanned_over(
            b, first, recorder, marshal.dumps, marshal.loads
        ),
        "laid out here, pickle rows": lambda b, first: _rows_over(
            b, first, recorder, pickle.dumps, pickle.loads
        ),
        "laid out here, marshal rows": lambda b, first: _rows_over(
            b, first, recorder, marshal.dumps, marshal.loads
        ),
    }
    best: dict[str, Split] = {}
    for _ in range(args.repeat):
        for label, way in ways.items():
            sides = [way(batch, 1 + BATCH * n) for n, batch in enumerate(batches)]
            total = (sum(s for s, _ in sides), sum(r for _, r in sides))
            if label not in best or sum(total) < sum(best[label]):
                best[label] = total
    first = 1
    for batch in batches:  # the same rows either way
        sent_scanned = pickle.loads(pickle.dumps(batch))  # noqa: S301 - our own bytes
        sent_rows = pickle.loads(pickle.dumps(recorder.rows(batch, first)))  # noqa: S301
        assert recorder.rows(sent_scanned, first) == sent_rows
        first += len(batch)
    print(f"{len(found)} transactions in {len(batches)} batches; best of {args.repeat}, CPU s")
    baseline = sum(best[next(iter(ways))])
    for label, (sender, receiver) in best.items():
        total = sender + receiver
        print(
            f"{label:44} sender {sender:6.2f}  receiver {receiver:6.2f}  "
            f"total {total:6.2f}  ratio baseline/this {baseline / total:.2f}"
        )
    return 0


def _scanned_over(
    batch: Sequence[Scanned],
    first: int,
    recorder: Recorder,
    dumps: Callable[[Any], bytes],
    loads: Callable[[bytes], Any],
) -> Split:
    start = time.process_time()
    blob = dumps((list(batch), "mysql-bin.000001", 4))
    sent = time.process_time()
    recorder.rows(loads(blob)[0], first)
    return sent - start, time.process_time() - sent


def _rows_over(
    batch: Sequence[Scanned],
    first: int,
    recorder: Recorder,
    dumps: Callable[[Any], bytes],
    loads: Callable[[bytes], Any],
) -> Split:
    start = time.process_time()
    blob = dumps((recorder.rows(batch, first), "mysql-bin.000001", 4))
    sent = time.process_time()
    loads(blob)
    return sent - start, time.process_time() - sent


if __name__ == "__main__":
    sys.exit(main())
