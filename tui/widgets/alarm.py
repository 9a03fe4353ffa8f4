"""The alarm banner: the destructive transaction on its way and the time left to stop it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Static

from tui.format import alarm_text

if TYPE_CHECKING:
    from drkit.service import Alarm


class AlarmBanner(Static):
    """Hidden while nothing destructive is pending; red while it counts down, yellow once frozen."""

    DEFAULT_CSS = """
    AlarmBanner { height: auto; padding: 0 1; display: none; }
    AlarmBanner.-running { display: block; background: $error 30%; border-left: thick $error; }
    AlarmBanner.-frozen { display: block; background: $warning 20%; border-left: thick $warning; }
    """

    def show(self, alarm: Alarm | None, now: float) -> None:
        """Redraw for `alarm` as of `now` (called every second for the countdown)."""
        self.set_class(alarm is not None and alarm.applier_running, "-running")
        self.set_class(alarm is not None and not alarm.applier_running, "-frozen")
        if alarm is not None:
            self.update(alarm_text(alarm, now))
