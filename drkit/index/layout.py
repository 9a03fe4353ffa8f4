"""How one transaction is laid out in the index's tables (shared by its writers and readers)."""

from __future__ import annotations

import array
import sys
from collections.abc import Sequence
from typing import Any

# One row of `transactions` and of `transaction_tables`, in the columns' order (store.py).
TransactionRow = tuple[Any, ...]
TableRow = tuple[int, str, str, int, int, int]

# The stored statement is for reading; the classifier has already seen the whole text.
STATEMENT_LIMIT = 4000


def clip(text: str) -> str:
    return text if len(text) <= STATEMENT_LIMIT else text[: STATEMENT_LIMIT - 1] + "…"


def pack_pairs(pairs: Sequence[tuple[int, int]]) -> bytes:
    """(start, end) offsets as little-endian 64-bit integers: a tenth of the cost of JSON."""
    flat = array.array("q", [offset for pair in pairs for offset in pair])
    if sys.byteorder != "little":
        flat.byteswap()
    return flat.tobytes()
