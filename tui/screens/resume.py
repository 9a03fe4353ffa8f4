"""Resume: restore the delayed replica's configured delay and restart replication, from the console."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from tui.failures import reported
from tui.format import span
from tui.messages import OperationFailed, RecoveryCrossesDestructive, Resumed, ResumePlanned
from tui.screens.base import ConfirmedRunScreen
from tui.widgets.confirm import TypedConfirmation

if TYPE_CHECKING:
    from drkit.plan.steps import Plan


class ResumeScreen(ConfirmedRunScreen):
    """The resume plan as `drkit resume --dry-run` prints it; it runs once the node's name is typed.

    The engine refuses a resume that would go on to apply a destructive transaction nobody named;
    `o` names them (as `--through` does) and plans again.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "apply_named", "Apply them on purpose"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.plan: Plan | None = None
        self.running = False
        self.done = False
        self.through: tuple[str, ...] = ()
        self.crossing: tuple[int, ...] = ()

    @property
    def holds_work(self) -> bool:
        return self.running

    def compose(self) -> ComposeResult:
        delayed = self.ops.config.delayed
        yield Header()
        yield Static(
            "restore the configured delay and restart replication on the delayed replica",
            id="explain",
        )
        with VerticalScroll(id="plan-box"):
            yield Static("planning…", id="plan")
        yield TypedConfirmation(delayed[0].name if delayed else "?", "Resume", id="confirm")
        with VerticalScroll(id="result-box"):
            yield Static(id="result")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#plan-box").border_title = "plan (exactly what --dry-run prints)"
        self.query_one("#result-box").border_title = "result"
        self.make_plan(self.through)

    @work(thread=True, group="resume-plan", exclusive=True, exit_on_error=False)
    def make_plan(self, through: tuple[str, ...]) -> None:
        """Ask the facade for the resume plan; post ResumePlanned (or the refusal)."""
        from drkit.errors import DestructiveInRange

        with reported(self, "resume plan"):
            try:
                plan = self.ops.plan_resume(through=through)
            except DestructiveInRange as exc:
                self.post_message(RecoveryCrossesDestructive(exc.message, exc.ids, "resume"))
                return
            self.post_message(ResumePlanned(plan))

    @on(RecoveryCrossesDestructive)
    def _crosses(self, event: RecoveryCrossesDestructive) -> None:
        self.crossing = event.ids
        self.query_one("#plan", Static).update(
            Text(
                f"{event.text}\n\npress o to apply {', '.join(f'#{i}' for i in event.ids)} on "
                "purpose (as --through does): the plan is shown again and still needs the node's "
                "name; or Esc, and recover or extract first",
                style="bold red",
            )
        )
        self.refresh_bindings()

    def action_apply_named(self) -> None:
        self.through = tuple(dict.fromkeys((*self.through, *(str(i) for i in self.crossing))))
        self.crossing = ()
        self.query_one("#plan", Static).update("planning…")
        self.refresh_bindings()
        self.make_plan(self.through)

    @on(ResumePlanned)
    def _planned(self, event: ResumePlanned) -> None:
        if self.running or self.done:
            return
        self.plan = event.plan
        self.query_one("#plan", Static).update(Text(event.plan.render()))
        self.query_one(TypedConfirmation).reset(event.plan.node or None)
        self.query_one("#confirm-name").focus()

    @on(TypedConfirmation.Confirmed, "#confirm")
    def _confirmed(self) -> None:
        if self.plan is not None and self.begin_run("resume", "resuming…"):
            self.run_plan(self.plan)

    @work(thread=True, group="resume", exit_on_error=False)
    def run_plan(self, plan: Plan) -> None:
        """Run the resume plan; post Resumed with the node's facts afterwards."""
        with reported(self, "resume"):
            self.post_message(Resumed(self.ops.resume(plan)))

    @on(Resumed)
    def _resumed(self, event: Resumed) -> None:
        self.end_run()
        replica = event.facts.replica
        if replica is None:
            text = f"{event.facts.name}: resumed, but its replication status could not be read"
        else:
            applier = "running" if replica.applier_running else "STOPPED"
            text = (
                f"{event.facts.name} resumed: delay {span(replica.sql_delay)}, "
                f"receiver {replica.receiver_state}, applier {applier}"
            )
        self.query_one("#result", Static).update(Text(text, style="bold green"))
        self.console.refresh_status()

    @on(OperationFailed)
    def _failed(self, event: OperationFailed) -> None:
        if event.what == "resume plan":
            self.query_one("#plan", Static).update(Text(event.text, style="bold red"))
        elif event.what == "resume":
            self.fail_run(event.text)
            self.console.refresh_status()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "apply_named":
            return bool(self.crossing) and not self.running and not self.done
        return True

    def action_back(self) -> None:
        if self.running:
            self.notify("the resume is running; wait for it", severity="warning")
            return
        self.app.pop_screen()
