"""What the indexer's `on_new` callers hear: the transactions one batch committed, read back from
the index only when a caller looks at them.

Following a busy primary, reading every committed batch back (its rows, tables and findings)
cost the follower a fifth of its time, and `drkit index --follow` only counts the transactions and
names the destructive ones: `destructive()` asks the index for those alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

from drkit.index.records import IndexedTransaction
from drkit.index.store import IndexStore


class StoredTransactions(Sequence[IndexedTransaction]):
    """The committed transactions with ids in `ids`, oldest first, as the index holds them."""

    def __init__(self, store: IndexStore, ids: range) -> None:
        self.store = store
        self.ids = ids
        self._loaded: list[IndexedTransaction] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> IndexedTransaction: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[IndexedTransaction]: ...

    def __getitem__(self, index: int | slice) -> IndexedTransaction | Sequence[IndexedTransaction]:
        return self._records()[index]

    def __iter__(self) -> Iterator[IndexedTransaction]:
        return iter(self._records())

    def destructive(self) -> list[IndexedTransaction]:
        """Only those with a finding (about one in a hundred), without reading the others."""
        if self._loaded is not None or not self.ids:
            return [record for record in self._records() if record.destructive is not None]
        return self.store.destructive_between(
            self.ids.start - 1, self.ids.stop, limit=len(self.ids)
        )

    def _records(self) -> list[IndexedTransaction]:
        if self._loaded is None:
            self._loaded = (
                self.store.transactions(self.ids.start, self.ids.stop - 1) if self.ids else []
            )
        return self._loaded
