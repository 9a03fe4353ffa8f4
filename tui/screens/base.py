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


class ConfirmedRunScreen(ConsoleScreen):
    """A screen that runs one plan after its node's name is typed (extract, flashback, resume):
    the run state, the locked controls and the result line they share."""

    running: bool = False
    done: bool = False

    def begin_run(self, busy: str, waiting: str) -> bool:
        """Start the run unless one ran or runs; lock the confirmation, say what is happening."""
        from textual.widgets import Static

        from tui.widgets.confirm import TypedConfirmation

        if self.running or self.done:
            return False
        self.running = True
        self.console.busy = busy
        self.query_one(TypedConfirmation).lock_controls()
        self.query_one("#result", Static).update(waiting)
        return True

    def end_run(self) -> None:
        """The run is over (its result is shown by the caller)."""
        self.running = False
        self.done = True
        self.console.busy = None

    def fail_run(self, text: str) -> None:
        """The run failed: unlock the console and show why; the screen may run again."""
        from rich.text import Text
        from textual.widgets import Static

        self.running = False
        self.console.busy = None
        self.query_one("#result", Static).update(Text(text, style="bold red"))
