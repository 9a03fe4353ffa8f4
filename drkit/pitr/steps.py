"""Moved to drkit.plan.steps (the plan vocabulary every changing operation shares); this name
stays for one release so that code importing it keeps working."""

from drkit.plan.steps import *  # noqa: F403
