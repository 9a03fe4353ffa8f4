"""A radio button and a checkbox whose glyph differs on and off, not only in colour (a terminal
without colour, or an operator who cannot tell the colours apart, still sees which is chosen)."""

from __future__ import annotations

from textual.widgets import Checkbox, RadioButton


class Radio(RadioButton):
    """`●` when chosen, blank otherwise."""

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # read by Textual per render
        return "●" if self.value else " "


class Check(Checkbox):
    """`X` when ticked, blank otherwise."""

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # read by Textual per render
        return "X" if self.value else " "
