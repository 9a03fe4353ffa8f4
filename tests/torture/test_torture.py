"""Seeded random operations on a real sandbox, checked after each one against a model.

Default: a few fixed seeds (part of `make test`). DRKIT_TORTURE_SEEDS=200 runs seeds 0..199,
DRKIT_TORTURE_SEED=123 replays one seed, DRKIT_TORTURE_OPS sets the operations per seed;
DRKIT_TORTURE_ASOF=5 weighs `drkit asof` up (default 0.6);
DRKIT_TORTURE_PRE12=1 drives a CLI from before issue #12 (no --through, freeze needs --yes).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.sandbox import start_sandbox
from tests.torture.runner import Torture

DEFAULT_SEEDS = (1, 2, 3, 4, 5)
DEFAULT_OPERATIONS = 40


def seeds() -> list[int]:
    if os.environ.get("DRKIT_TORTURE_SEED"):
        return [int(s) for s in os.environ["DRKIT_TORTURE_SEED"].split(",")]
    if os.environ.get("DRKIT_TORTURE_SEEDS"):
        return list(range(int(os.environ["DRKIT_TORTURE_SEEDS"])))
    return list(DEFAULT_SEEDS)


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("seed", seeds())
def test_torture(seed: int, tmp_path: Path) -> None:
    box = start_sandbox(tmp_path / "sb", delay=3600)
    torture = Torture(box, seed, pre12=bool(os.environ.get("DRKIT_TORTURE_PRE12")))
    try:
        torture.run(int(os.environ.get("DRKIT_TORTURE_OPS", DEFAULT_OPERATIONS)))
    finally:
        box.down(purge=True)
        for finding in torture.findings:
            print(finding)
        print(f"seed {seed}: {len(torture.trace)} operations")
        print("\n".join(torture.trace))
