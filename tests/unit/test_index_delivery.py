"""What `on_new` hears: a committed batch read back from the index only when looked at, the same
records as a full read; `destructive()` finds the batch's destructive ones without reading the rest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drkit.index.delivery import StoredTransactions
from drkit.index.store import IndexStore
from drkit.model.coords import BinlogCoord
from tests.unit.test_index_store import WORKLOAD


@pytest.fixture
def store(tmp_path: Path) -> Iterator[IndexStore]:
    opened = IndexStore(tmp_path / "index.db")
    opened.append(WORKLOAD, BinlogCoord("bin.000001", 1004))
    try:
        yield opened
    finally:
        opened.close()


def test_a_batch_reads_as_the_index_holds_it(store: IndexStore) -> None:
    batch = StoredTransactions(store, range(3, 9))
    assert len(batch) == 6
    assert list(batch) == store.transactions(3, 8)
    assert [record.id for record in batch] == [3, 4, 5, 6, 7, 8]
    assert batch[-1].gtid == "0-1-8"
    assert [record.id for record in batch[1:3]] == [4, 5]


def test_counting_reads_nothing_and_destructive_reads_only_the_findings(
    store: IndexStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_full_read(first_id: int, last_id: int) -> None:
        raise AssertionError(f"read back {first_id}..{last_id}")

    monkeypatch.setattr(store, "transactions", no_full_read)
    batch = StoredTransactions(store, range(3, 9))
    assert len(batch) == 6
    found = batch.destructive()
    # Transactions 4 and 7 of the batch; 9 is destructive too, but in the next batch.
    assert [
        (record.id, record.destructive and record.destructive.category) for record in found
    ] == [
        (4, "drop_table"),
        (7, "mass_delete"),
    ]
    monkeypatch.undo()
    assert found == [
        record for record in StoredTransactions(store, range(3, 9)) if record.destructive
    ]


def test_destructive_of_a_batch_read_already_or_empty(store: IndexStore) -> None:
    batch = StoredTransactions(store, range(1, 11))
    everything = list(batch)
    assert batch.destructive() == [record for record in everything if record.destructive]
    assert [record.id for record in batch.destructive()] == [4, 7, 9]
    empty = StoredTransactions(store, range(11, 11))
    assert len(empty) == 0
    assert empty.destructive() == []
    assert list(empty) == []
