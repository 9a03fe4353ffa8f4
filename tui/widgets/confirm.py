"""Confirm by typing: the action's button stays disabled until the node's name is typed."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, Input, Label


class TypedConfirmation(Horizontal):
    """An input for the node's name and the button it unlocks."""

    DEFAULT_CSS = """
    TypedConfirmation { height: auto; padding: 0 1; }
    TypedConfirmation Label { padding: 0 1 0 0; height: 1; }
    TypedConfirmation Input { width: 1fr; }
    TypedConfirmation Button { margin: 0 0 0 1; }
    """

    class Confirmed(Message):
        """The operator typed the name and pressed the button (or Enter)."""

        def __init__(self, confirmation: TypedConfirmation) -> None:
            super().__init__()
            self.confirmation = confirmation

        @property
        def control(self) -> TypedConfirmation:
            return self.confirmation

    def __init__(self, expected: str, action: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.expected = expected
        self.action = action

    def compose(self) -> ComposeResult:
        yield Label(f"type {self.expected!r} to confirm:")
        yield Input(placeholder=self.expected, id="confirm-name", compact=True)
        yield Button(self.action, id="confirm-run", variant="error", disabled=True, compact=True)

    @property
    def matches(self) -> bool:
        return self.query_one("#confirm-name", Input).value.strip() == self.expected

    def reset(self, expected: str | None = None) -> None:
        """Clear what was typed (a new plan needs a new confirmation)."""
        if expected is not None:
            self.expected = expected
            self.query_one(Label).update(f"type {expected!r} to confirm:")
            self.query_one("#confirm-name", Input).placeholder = expected
        self.query_one("#confirm-name", Input).value = ""
        self.query_one("#confirm-run", Button).disabled = True

    def lock_controls(self) -> None:
        """Disable both controls (while the action runs, and after)."""
        self.query_one("#confirm-name", Input).disabled = True
        self.query_one("#confirm-run", Button).disabled = True

    @on(Input.Changed, "#confirm-name")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_one("#confirm-run", Button).disabled = not self.matches

    @on(Input.Submitted, "#confirm-name")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.matches:
            self.post_message(self.Confirmed(self))

    @on(Button.Pressed, "#confirm-run")
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if self.matches:
            self.post_message(self.Confirmed(self))
