"""Moved to drkit.plan.conditions (the plan vocabulary every changing operation shares); this name
stays for one release so that code importing it keeps working."""

from drkit.plan.conditions import *  # noqa: F403
