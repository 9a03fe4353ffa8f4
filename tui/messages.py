"""What workers tell the screens: past-tense messages carrying the facade's values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from drkit.checks.alarm import Alarm
    from drkit.checks.dropped import DroppedRows
    from drkit.checks.result import PromotionChecklist
    from drkit.extract.plan import ExtractPlan
    from drkit.extract.run import ExtractReport
    from drkit.flashback.run import FlashbackReport
    from drkit.index.records import IndexedTransaction
    from drkit.index.store import Filters
    from drkit.model.facts import NodeFacts
    from drkit.pitr.inspect import InspectReport
    from drkit.pitr.recovery import FreezeReport, PreparedRecovery, RecoveryReport
    from drkit.pitr.state import RecoveryState
    from drkit.plan.executor import Progress
    from drkit.plan.steps import Plan
    from drkit.promote.plan import PromotionPlan
    from drkit.promote.run import PromotionReport
    from drkit.service import StatusReport


@dataclass(frozen=True)
class Observation:
    """One round of gathering: the nodes and the index, the alarm, any recovery in progress."""

    status: StatusReport
    alarm: Alarm | None
    recovery: RecoveryState | None
    problems: tuple[str, ...] = ()


class StatusGathered(Message):
    """A status round finished."""

    def __init__(self, observation: Observation) -> None:
        super().__init__()
        self.observation = observation


class OperationFailed(Message):
    """A worker's call into drkit failed; the message and hint are for the operator."""

    def __init__(self, what: str, message: str, hint: str | None) -> None:
        super().__init__()
        self.what = what
        self.message = message
        self.hint = hint

    @property
    def text(self) -> str:
        return f"{self.what}: {self.message}" + (f"\nhint: {self.hint}" if self.hint else "")


class Frozen(Message):
    """The delayed replica's applier was stopped (or already was)."""

    def __init__(self, report: FreezeReport) -> None:
        super().__init__()
        self.report = report


class PageLoaded(Message):
    """One page of the timeline was read from the index."""

    def __init__(
        self, filters: Filters, rows: list[IndexedTransaction], *, first_page: bool
    ) -> None:
        super().__init__()
        self.filters = filters
        self.rows = rows
        self.first_page = first_page


class RecoveryCrossesDestructive(Message):
    """The plan would apply destructive transactions nobody named: refused until named."""

    def __init__(self, text: str, ids: tuple[int, ...], mode: str) -> None:
        super().__init__()
        self.text = text
        self.ids = ids
        self.mode = mode


class RecoveryPrepared(Message):
    """A recovery plan was built for the chosen target and mode (`before` or `skip`); nothing ran."""

    def __init__(self, prepared: PreparedRecovery, mode: str) -> None:
        super().__init__()
        self.prepared = prepared
        self.mode = mode


class RecoveryStepStarted(Message):
    """The executor began a step of the plan."""

    def __init__(self, number: int, text: str) -> None:
        super().__init__()
        self.number = number
        self.text = text


class RecoveryProgressed(Message):
    """The applier moved: transactions applied and remaining."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress


class RecoveryFinished(Message):
    """The recovery ran to its end and was verified (or not)."""

    def __init__(self, report: RecoveryReport) -> None:
        super().__init__()
        self.report = report


class PlanReady(Message):
    """A plan (promotion, extraction) was built; it renders as its dry run."""

    def __init__(self, plan: ExtractPlan | PromotionPlan) -> None:
        super().__init__()
        self.plan = plan


class ChecklistGathered(Message):
    """The promotion checklist was gathered."""

    def __init__(self, checklist: PromotionChecklist) -> None:
        super().__init__()
        self.checklist = checklist


class PlanExecuted(Message):
    """A promotion or extraction plan ran; its report holds the result per node."""

    def __init__(self, report: ExtractReport | PromotionReport) -> None:
        super().__init__()
        self.report = report


class FlashbackApplied(Message):
    """A flashback plan ran on the primary and was verified (or refused: OperationFailed)."""

    def __init__(self, report: FlashbackReport) -> None:
        super().__init__()
        self.report = report


class AuditRead(Message):
    """The audit log's newest records were read."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        super().__init__()
        self.records = records


class ResumePlanned(Message):
    """A resume plan was built (restore the delay, restart replication); nothing ran."""

    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan


class Resumed(Message):
    """The resume plan ran; the delayed node's facts as they are now."""

    def __init__(self, facts: NodeFacts) -> None:
        super().__init__()
        self.facts = facts


class InspectPrepared(Message):
    """The roll-forward to T was planned (nothing ran); `changed`: it differs from the plan shown."""

    def __init__(self, prepared: PreparedRecovery, at: str, *, changed: bool = False) -> None:
        super().__init__()
        self.prepared = prepared
        self.at = at
        self.changed = changed


class InspectAnswered(Message):
    """The replica was rolled forward to T and the queries answered on one read-only snapshot."""

    def __init__(self, report: InspectReport) -> None:
        super().__init__()
        self.report = report


class DroppedCounted(Message):
    """The rows a DROP or TRUNCATE took were read on the delayed copy (or found unknown)."""

    def __init__(self, tx_id: int, tables: tuple[DroppedRows, ...]) -> None:
        super().__init__()
        self.tx_id = tx_id
        self.tables = tables
