"""Moved to drkit.plan.executor (the plan vocabulary every changing operation shares); this name
stays for one release so that code importing it keeps working."""

from drkit.plan.executor import *  # noqa: F403
