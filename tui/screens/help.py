"""The help screen: what the console is for and every key it knows."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown

HELP = """\
# drkit incident console

The delayed replica still holds what a `DROP TABLE` or a `DELETE` without `WHERE` destroyed on the
primary, until its delay runs out. **Freeze it first** (`f`), then recover.

| key | where | what it does |
|---|---|---|
| `f` | everywhere | **Freeze now**: stop the delayed replica's applier (reversible: `drkit resume`) |
| `r` | dashboard | Recovery wizard: freeze (only when a destructive transaction is on its way), pick the target in the timeline, plan, confirm, run |
| `k` / `z` | dashboard | Acknowledge the alarm (one quiet line until its state changes) / snooze it 10 minutes |
| `u` | dashboard | Resume: restore the delay and restart replication (plan, then the node's name) |
| `e` | dashboard | Extract a table of the alarm's transaction back into the primary |
| `i` | dashboard, timeline | Inspect: the database as of T (the highlighted transaction's time in the timeline): the delayed replica rolled forward to T and held there while you query it |
| `ctrl+r` `ctrl+n` `ctrl+b` `ctrl+s` | inspect | Plan, then run; next and previous page of rows; save the answers as CSV beside the config |
| `t` `p` `a` | dashboard | Timeline, Promotion checklist, Audit log |
| `ctrl+r` | dashboard, promotion, audit | Gather again now |
| `/` | timeline | Edit the filters (table, since, until); Enter applies them |
| `x` | timeline | Destructive transactions only, on or off |
| `n` | timeline | Back to the newest transactions |
| `Enter` | timeline | Recover at the highlighted transaction |
| `b` `s` | recovery | Stop just before the target, or skip it and replay the rest |
| `e` `p` | after a recovery | Extract a table back into the primary, or go to promotion |
| `Esc` | any screen | Back (during a recovery or an inspection's roll-forward: interrupt it, leaving the replica frozen; leaving an inspection held at T asks: restore the delay or keep the hold) |
| `?` | everywhere | This help |
| `q` | dashboard | Quit (`ctrl+q` anywhere) |

Nothing that changes a server runs without its plan on screen first: the plan is exactly what
`--dry-run` prints. Irreversible steps are confirmed by typing the node's name.
Everything the console runs is in the audit log (`a`).
"""


class HelpScreen(ModalScreen[None]):
    """Keys and a reminder of the order of things."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)
        yield Footer()
