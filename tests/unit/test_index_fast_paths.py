"""The indexer's fast paths write the index the plain paths write, row for row: transactions the
classifier's fast path settles, and files indexed while they are still being copied."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from drkit.classify import transaction as classify_transaction_module
from drkit.index import recording
from drkit.index.indexer import Indexer
from tests.unit.test_index_writer import FILES, FIXTURES, _config, _dump, _index


def test_transactions_settled_by_the_fast_path_are_stored_as_the_full_reading_stores_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settled: list[bool] = []
    real = recording.statements_plainly_harmless

    def counting(statements: tuple[str, ...]) -> bool:
        settled.append(real(statements))
        return settled[-1]

    monkeypatch.setattr(recording, "statements_plainly_harmless", counting)
    fast = _config(tmp_path / "fast", writer_process=False)
    _index(fast)
    # Both ways were taken: the check is not vacuous.
    assert True in settled and False in settled

    monkeypatch.setattr(recording, "statements_plainly_harmless", lambda statements: False)
    monkeypatch.setattr(
        classify_transaction_module, "statements_plainly_harmless", lambda statements: False
    )
    plain = _config(tmp_path / "plain", writer_process=False)
    _index(plain)
    fast_rows, plain_rows = _dump(fast.index.path), _dump(plain.index.path)
    assert fast_rows == plain_rows
    assert any(row[13] for row in plain_rows["transactions"])  # findings are among them


@pytest.mark.parametrize("writer_process", [False, True], ids=["in process", "writer process"])
def test_files_indexed_while_they_are_copied_give_the_index_of_whole_files(
    tmp_path: Path, writer_process: bool
) -> None:
    whole = _config(tmp_path / "whole", writer_process=False)
    _index(whole)

    growing = _config(tmp_path / "growing", writer_process=writer_process)
    archive = growing.index.archive_dir
    for name in FILES:
        (archive / name).unlink()
    copier = threading.Thread(target=_copy_in_pieces, args=(archive,))
    copier.start()
    indexer = Indexer(growing)
    looks: list[bool] = []

    def copying() -> bool:
        looks.append(copier.is_alive())
        return looks[-1]

    try:
        # `copying` is asked before each look: the last look comes after the copier's end.
        indexer.scan(copying=copying, expected=_fixture_bytes())
    finally:
        indexer.close()
        copier.join()
    assert looks.count(True) > len(FILES), "the scan did not go along with the copy"
    assert looks[-1] is False
    assert _dump(growing.index.path) == _dump(whole.index.path)


def _copy_in_pieces(archive: Path, piece: int = 333) -> None:
    """Write the fixture files as the server's tool does: one after another, a piece at a time
    (pieces that cut events and transactions anywhere)."""
    for name in FILES:
        data = (FIXTURES / name).read_bytes()
        with (archive / name).open("wb") as sink:
            for start in range(0, len(data), piece):
                sink.write(data[start : start + piece])
                sink.flush()
                time.sleep(0.002)


def _fixture_bytes() -> int:
    return sum((FIXTURES / name).stat().st_size for name in FILES)
