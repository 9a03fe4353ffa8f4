"""A flashback's report and refusal in words: counts that agree, and a history command that
names the real row (the trial read "1 rows skipped" and `drkit history --table S.T --key ...`)."""

from __future__ import annotations

from drkit.flashback.run import Conflict, FlashbackConflicts, FlashbackReport


def _report(skipped: tuple[Conflict, ...], applied: int) -> FlashbackReport:
    return FlashbackReport(
        node="primary",
        applied=applied,
        skipped=skipped,
        skipped_count=len(skipped),
        checked=applied,
        mismatched=(),
        mismatched_count=0,
        seconds=0.5,
    )


def test_one_skipped_row_reads_in_the_singular_with_its_history_command() -> None:
    row = Conflict("shop.customers", "update", {"id": 5})
    text = _report((row,), 1).render()
    assert text.splitlines() == [
        "1 row change reversed on primary in one transaction",
        "1 row skipped, changed since the disaster:",
        "  shop.customers (id=5): changed since the UPDATE",
        "  look at it with `drkit history --table shop.customers --key id=5`",
        "verified: 1 row compared with their before images, 0 differ (0.5s)",
    ]


def test_several_rows_and_a_composite_key_with_a_space() -> None:
    rows = (
        Conflict("shop.lines", "delete", {"order_id": 4, "name": "big box"}),
        Conflict("shop.lines", "update", {"order_id": 5, "name": "b"}),
    )
    text = _report(rows, 3).render()
    assert "3 row changes reversed" in text and "2 rows skipped" in text
    assert (
        "look at each, e.g. `drkit history --table shop.lines --key 'order_id=4,name=big box'`"
        in text
    )
    refused = FlashbackConflicts(rows, 2)
    assert refused.message.startswith("2 rows changed since the disaster")
    assert refused.hint == (
        "look at each, e.g. `drkit history --table shop.lines --key 'order_id=4,name=big box'`; "
        "`--on-conflict skip` applies the rest and reports these"
    )
