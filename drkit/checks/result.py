"""A check's verdict and a list of them: what was seen, whether it is safe, and what to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    """One row of a checklist; critical rows decide, advisory rows inform."""

    name: str
    ok: bool
    reason: str
    hint: str = ""
    critical: bool = True
    promote_fixes: bool = False  # failing now, but `drkit promote`'s own plan puts it right

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "ok": self.ok,
            "critical": self.critical,
            "reason": self.reason,
            "hint": self.hint or None,
            "promote_fixes": self.promote_fixes,
        }


@dataclass(frozen=True)
class Checklist:
    """Check results gathered at one moment; ok when every critical check passes."""

    results: list[CheckResult]
    gathered_at: float = 0.0
    title: str = ""

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results if result.critical)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        """The critical checks that did not pass."""
        return tuple(r for r in self.results if r.critical and not r.ok)

    @property
    def warnings(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if not r.critical and not r.ok)

    def result(self, name: str) -> CheckResult | None:
        return next((r for r in self.results if r.name == name), None)

    def to_json(self) -> dict[str, object]:
        return {
            "title": self.title,
            "ok": self.ok,
            "gathered_at": self.gathered_at,
            "failed": [r.name for r in self.failed],
            "results": [r.to_json() for r in self.results],
        }


@dataclass(frozen=True)
class PromotionChecklist(Checklist):
    """The evidence for promoting the delayed replica (`drkit check promotion`)."""

    node: str = ""  # the delayed replica the checklist is about
    old_primary: str | None = None

    @property
    def blocking(self) -> tuple[CheckResult, ...]:
        """Critical failures `drkit promote` cannot put right itself: these refuse it."""
        return tuple(r for r in self.failed if not r.promote_fixes)

    @property
    def possible(self) -> bool:
        """`drkit promote` would go ahead (no --force needed): the one verdict every front end
        shows and `drkit check promotion` exits by."""
        return not self.blocking

    @property
    def verdict(self) -> str:
        """The verdict in one sentence, the same for the CLI and the console."""
        promoted = self.result("not-promoted-yet")
        if promoted is not None and not promoted.ok and promoted.reason.endswith("already)"):
            return f"nothing to promote: {promoted.reason}"
        blocking = self.blocking
        if blocking:
            names = ", ".join(r.name for r in blocking)
            return (
                f"promotion refused: {len(blocking)} critical check"
                f"{'s' if len(blocking) > 1 else ''} fail: {names} (`--force` overrides)"
            )
        fixes = [r.name for r in self.failed if r.promote_fixes]
        if fixes:
            return f"promotion is possible: `drkit promote` puts right first: {', '.join(fixes)}"
        return "promotion is possible: every critical check passes"

    def to_json(self) -> dict[str, object]:
        data = super().to_json()
        data["possible"] = self.possible
        data["verdict"] = self.verdict
        data["node"] = self.node
        data["old_primary"] = self.old_primary
        data["blocking"] = [r.name for r in self.blocking]
        return data
