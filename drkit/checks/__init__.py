"""Health and promotion checks: gathered once (evidence), judged in pure code (CheckResult rows)."""

from drkit.checks.result import Checklist, CheckResult, PromotionChecklist

__all__ = ["CheckResult", "Checklist", "PromotionChecklist"]
