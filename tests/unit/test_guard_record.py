"""The guard's run record stays bounded for a guard that runs for months, and still counts all."""

from __future__ import annotations

from drkit.guard.record import GuardRun


def _entry(number: int, cls: str, action: str) -> dict[str, object]:
    return {
        "transaction": {"id": number},
        "findings": [{"class": cls, "action": action}],
        "action": "frozen" if action == "freeze" else "logged",
        "nodes": [],
    }


def test_the_recent_findings_are_kept_and_every_one_is_counted() -> None:
    run = GuardRun(kept=3)
    for number in range(1, 11):
        freeze = number % 2 == 0
        run.add(
            _entry(number, "drop_table" if freeze else "truncate", "freeze" if freeze else "log"),
            ["delayed"] if freeze else [],
        )
    assert [f["transaction"]["id"] for f in run.findings] == [8, 9, 10]  # type: ignore[index]
    assert run.findings_total == 10 and run.dropped == 7
    assert run.by_class == {("drop_table", "freeze"): 5, ("truncate", "log"): 5}
    assert run.freezes == {("drop_table", "delayed"): 5}
    counts = run.counts_json()
    assert counts["findings_total"] == 10 and counts["findings_dropped"] == 7


def test_a_finding_freezes_under_its_freezing_class_not_its_first() -> None:
    run = GuardRun()
    run.add(
        {
            "findings": [
                {"class": "mass_delete", "action": "log"},
                {"class": "delete_without_where", "action": "freeze"},
            ],
            "nodes": [],
        },
        ["d1", "d2"],
    )
    assert run.freezes == {("delete_without_where", "d1"): 1, ("delete_without_where", "d2"): 1}
    assert len(run.findings) == 1 and run.dropped == 0
