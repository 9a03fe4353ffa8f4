"""Times and counts in plans and refusals: to the second with the zone (`...T14:02:00Z`), and
"1 transaction"; a relative `--until-time` printed microseconds and "(1 transactions to apply)"."""

from __future__ import annotations

import re

from tests.support.processes import catch_up_delayed
from tests.support.sandbox import Sandbox

FRACTION = re.compile(r"\d\d:\d\d:\d\d\.\d")
SECOND = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def test_relative_times_print_to_the_second_and_one_transaction_is_singular(
    box: Sandbox,
) -> None:
    box.sql(
        "primary",
        "CREATE DATABASE IF NOT EXISTS words",
        "CREATE TABLE words.t (id INT PRIMARY KEY)",
        app=True,
    )
    catch_up_delayed(box)
    box.sql("primary", "INSERT INTO words.t VALUES (1)", app=True)
    assert box.drkit("index").returncode == 0

    plan = box.drkit("recover", "--until-time", "-0s", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert re.search(rf"committed at or before {SECOND}: apply everything indexed", plan.stdout)
    assert "(1 transaction to apply)" in plan.stdout, plan.stdout
    assert not FRACTION.search(plan.stdout), plan.stdout

    # Before anything indexed, and the delayed node applied the setup: refused, to the second.
    refused = box.drkit("recover", "--until-time", "-1d", "--dry-run")
    assert refused.returncode == 3, refused.stdout
    first = refused.stderr.splitlines()[0]
    assert re.match(rf"drkit: {SECOND} is earlier than what the delayed replica", first), first
    assert not FRACTION.search(refused.stderr), refused.stderr
    assert box.value("delayed", "SELECT COUNT(*) FROM words.t") == 0  # nothing was changed
