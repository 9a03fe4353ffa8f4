"""What every screen of the console shares: the app, the facade and the clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from drkit.service import Operations
    from tui.app import DrkitApp


class ConsoleScreen(Screen[Any]):
    """A screen of the console."""

    @property
    def console(self) -> DrkitApp:
        return cast("DrkitApp", self.app)

    @property
    def ops(self) -> Operations:
        return self.console.ops

    @property
    def holds_work(self) -> bool:
        """A plan runs from this screen: it stays on its stack until the plan ends."""
        return False

    def now(self) -> float:
        return self.console.clock()
