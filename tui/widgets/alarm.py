"""The alarm banner: where the delayed replica stands against the newest destructive transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Static

from tui.format import alarm_text

if TYPE_CHECKING:
    from drkit.checks.alarm import Alarm

STATES = ("running", "frozen", "recovered", "named", "missed")


class AlarmBanner(Static):
    """Hidden with no alarm; red while it counts down, loudest once the delay ran out, yellow when
    frozen, calm once recovered or named; one quiet line once acknowledged."""

    DEFAULT_CSS = """
    AlarmBanner { height: auto; padding: 0 1; display: none; }
    AlarmBanner.-running { display: block; background: $error 30%; border-left: thick $error; }
    AlarmBanner.-missed {
        display: block; background: $error 60%; border-left: outer $error; text-style: bold;
    }
    AlarmBanner.-frozen { display: block; background: $warning 20%; border-left: thick $warning; }
    AlarmBanner.-recovered, AlarmBanner.-named {
        display: block; background: $success 15%; border-left: thick $success;
    }
    AlarmBanner.-acknowledged { background: $panel; border-left: thick $foreground 30%; }
    """

    def show(self, alarm: Alarm | None, now: float, *, acknowledged: bool = False) -> None:
        """Redraw for `alarm` as of `now` (called every second for the countdown)."""
        kind = alarm.kind.value if alarm is not None else None
        for state in STATES:
            self.set_class(kind == state, f"-{state}")
        self.set_class(alarm is not None and acknowledged, "-acknowledged")
        if alarm is not None:
            self.update(alarm_text(alarm, now, acknowledged=acknowledged))
