"""The rewind (pure): row changes undone newest first, and every disagreement refused."""

from __future__ import annotations

import datetime as dt

import pytest

from drkit.asof.plan import decide_range
from drkit.asof.rewind import RewindConflict, Rewinder, canonical, from_server
from drkit.errors import RefusedError
from drkit.index.records import IndexedTransaction

COLUMNS = ("id", "v")


def keyed(*rows: tuple[object, ...]) -> Rewinder:
    rewinder = Rewinder(COLUMNS, ("id",))
    rewinder.load(rows)
    return rewinder


def test_undo_puts_back_what_each_change_did_newest_first() -> None:
    # Oldest first the primary did: insert (1,a); update (1,a)->(2,b) (key change); delete (3,c).
    rewinder = keyed((2, "b"))
    rewinder.undo("delete", {"id": 3, "v": "c"}, None, "#3")
    rewinder.undo("update", {"id": 1, "v": "a"}, {"id": 2, "v": "b"}, "#2")
    assert list(rewinder.rows()) == [(1, "a"), (3, "c")]
    rewinder.undo("insert", None, {"id": 1, "v": "a"}, "#1")
    assert list(rewinder.rows()) == [(3, "c")]
    assert rewinder.undone.total == 3 and rewinder.touched == {(1,), (2,), (3,)}


def test_a_row_that_is_not_what_the_change_left_stops_the_rewind() -> None:
    rewinder = keyed((1, "changed later"))
    with pytest.raises(RewindConflict, match=r"#7 updated the row \(key id=1\)"):
        rewinder.undo("update", {"id": 1, "v": "a"}, {"id": 1, "v": "b"}, "#7")
    with pytest.raises(RewindConflict, match="no such row"):
        keyed().undo("insert", None, {"id": 5, "v": None}, "#8")
    with pytest.raises(RewindConflict, match="still holds a row with that key"):
        keyed((1, "x")).undo("delete", {"id": 1, "v": "x"}, None, "#9")


def test_without_a_primary_key_rows_are_a_multiset() -> None:
    rewinder = Rewinder(COLUMNS, ())
    rewinder.load([(1, "red"), (1, "red")])
    rewinder.undo("insert", None, {"id": 1, "v": "red"}, "#2")
    rewinder.undo("delete", {"id": 2, "v": "blue"}, None, "#1")
    assert sorted(rewinder.rows()) == [(1, "red"), (2, "blue")]
    with pytest.raises(RewindConflict):
        rewinder.undo("insert", None, {"id": 9, "v": "none"}, "#0")


def test_values_meet_in_one_form() -> None:
    aware = dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    assert canonical(aware) == from_server("2026-01-01 10:00:00", "timestamp")
    assert from_server("0000-00-00", "date") == "0000-00-00"  # the decoder's text, not NULL
    assert from_server(bytearray(b"\x00"), "varbinary") == b"\x00"


def tx(tx_id: int, ts: int) -> IndexedTransaction:
    return IndexedTransaction(tx_id, f"0-1-{tx_id}", "b.000001", 0, 1, ts, 1, "dml", (), "")


@pytest.mark.parametrize(
    ("at", "applied", "after_t", "expected"),
    [
        (150, 5, 2, (2, 5)),  # T between #1 and #2; the replica applied up to #5
        (500, 5, 6, (6, 5)),  # T exactly at the replica: nothing to undo
        (999, 10, None, (11, 10)),  # T after everything, the replica has it all
    ],
)
def test_range_from_t_to_the_replica(
    at: float, applied: int, after_t: int | None, expected: tuple[int, int]
) -> None:
    found = decide_range(
        "delayed",
        at,
        oldest=tx(1, 100),
        latest=tx(10, 1000),
        after_t=tx(after_t, at + 1) if after_t else None,
        applied=tx(applied, 500),
        applied_in_order=True,
        position="0-1-5",
    )
    assert (found.first_id, found.last_id) == expected


@pytest.mark.parametrize(
    ("at", "applied", "after_t", "words"),
    [
        (50, tx(5, 500), tx(1, 100), "before the oldest archived"),
        (600, tx(5, 500), tx(7, 700), "rewinding cannot reach forward"),
        (150, None, tx(2, 200), "is not in the index"),
    ],
)
def test_out_of_reach_is_refused(
    at: float, applied: IndexedTransaction | None, after_t: IndexedTransaction, words: str
) -> None:
    with pytest.raises(RefusedError, match=words):
        decide_range(
            "delayed",
            at,
            oldest=tx(1, 100),
            latest=tx(10, 1000),
            after_t=after_t,
            applied=applied,
            applied_in_order=True,
            position="0-1-5",
        )


def test_a_skipped_transaction_of_the_table_is_refused_by_name() -> None:
    from drkit.asof.plan import refuse_skipped

    refuse_skipped("shop.heap", "delayed", [])  # none: nothing to say
    with pytest.raises(RefusedError) as caught:
        refuse_skipped("shop.heap", "delayed", [tx(7, 1000), tx(9, 1100)])
    assert caught.value.message.startswith(
        "#7 (0-1-7) (and 1 more) changed shop.heap after T and was skipped on delayed"
    )
    assert caught.value.hint is not None and "after #9 (0-1-9)" in caught.value.hint
