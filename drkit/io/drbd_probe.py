"""Run each configured DRBD status command and keep what it said, whatever happened.

A probe never raises: a missing program, a failing exit, a timeout or output nobody can read each
become a DrbdProbe that says so, and its verdicts then say the state is unknown.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from drkit.config import DrbdConfig
from drkit.io.command import run as command_run
from drkit.model.drbd import DrbdResource, find_resource, parse_any
from drkit.model.drbd_verdict import (
    STATE_UNKNOWN,
    Level,
    Verdict,
    assess_configured,
    worst,
)

# After killing a timed-out command, how long to wait for its pipes to close.
_STDERR_LINES = 5
_STDERR_CHARS = 1000


class ProbeOutcome(StrEnum):
    """What became of running the command."""

    OK = "ok"
    COMMAND_MISSING = "command_missing"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    UNPARSEABLE = "unparseable"


@dataclass(frozen=True)
class DrbdProbe:
    """The result of one configured `[[drbd]]` command: the resources it reported, or why none."""

    resource: str  # the configured resource name the verdicts are about
    command: tuple[str, ...]
    outcome: ProbeOutcome
    detail: str = ""  # one sentence when the outcome is not OK
    resources: tuple[DrbdResource, ...] = ()
    exit_status: int | None = None
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is ProbeOutcome.OK

    @property
    def target(self) -> DrbdResource | None:
        """The configured resource in the output, or None when the output lacks it."""
        return find_resource(self.resources, self.resource)

    def verdicts(self) -> tuple[Verdict, ...]:
        """Verdicts on the configured resource; a critical `state_unknown` if the probe failed."""
        if not self.ok:
            return (
                Verdict(
                    Level.CRITICAL,
                    STATE_UNKNOWN,
                    f"DRBD state of {self.resource} is unknown: {self.detail}",
                ),
            )
        return assess_configured(self.resources, self.resource)

    def to_json(self) -> dict[str, Any]:
        verdicts = self.verdicts()
        return {
            "resource": self.resource,
            "command": list(self.command),
            "outcome": self.outcome.value,
            "ok": self.ok,
            "detail": self.detail,
            "exit_status": self.exit_status,
            "stderr_tail": self.stderr_tail,
            "level": worst(verdicts).value,
            "verdicts": [verdict.to_json() for verdict in verdicts],
            "resources": [resource.to_json() for resource in self.resources],
        }


def probe(config: DrbdConfig) -> DrbdProbe:
    """Run `config.command` (argument list, no shell) within `config.timeout`; read the output."""
    command = config.command
    shown = shlex.join(command)

    def result(outcome: ProbeOutcome, detail: str, **found: Any) -> DrbdProbe:
        return DrbdProbe(config.resource, command, outcome, detail, **found)

    try:
        finished = command_run(command, timeout=config.timeout)
    except FileNotFoundError:
        where = "no such file" if os.sep in command[0] else "not found on PATH"
        return result(ProbeOutcome.COMMAND_MISSING, f"{command[0]}: {where}")
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return result(ProbeOutcome.FAILED, f"cannot run `{shown}`: {reason}")
    if finished.returncode is None:
        return result(
            ProbeOutcome.TIMED_OUT,
            f"`{shown}` did not finish within {config.timeout:g} s and was killed",
            stderr_tail=_tail(finished.stderr),
        )

    stdout = finished.stdout
    tail = _tail(finished.stderr)
    status = finished.returncode
    if status != 0:
        how = f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
        last = tail.splitlines()[-1] if tail else "no error output"
        return result(
            ProbeOutcome.FAILED, f"`{shown}` {how}: {last}", exit_status=status, stderr_tail=tail
        )
    try:
        resources = parse_any(stdout.decode("utf-8", errors="replace"))
    except ValueError as exc:
        return result(
            ProbeOutcome.UNPARSEABLE,
            f"cannot read the output of `{shown}`: {exc}",
            exit_status=status,
            stderr_tail=tail,
        )
    return result(ProbeOutcome.OK, "", resources=resources, exit_status=status, stderr_tail=tail)


def probe_all(configs: Iterable[DrbdConfig]) -> tuple[DrbdProbe, ...]:
    """One probe per configured `[[drbd]]` entry, in configuration order."""
    return tuple(probe(config) for config in configs)


def _tail(stderr: bytes) -> str:
    """The last few lines of error output, enough to see why without flooding a report."""
    lines = [line for line in stderr.decode("utf-8", errors="replace").splitlines() if line.strip()]
    return "\n".join(lines[-_STDERR_LINES:])[-_STDERR_CHARS:]
