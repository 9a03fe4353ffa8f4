"""The error tree every drkit command maps to an exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, the contract scripts and drills rely on."""

    DONE = 0
    FAILED = 1
    USAGE = 2
    REFUSED = 3


class DrkitError(Exception):
    """A failure drkit can explain in one sentence, with an optional hint on what to do next."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    def details(self) -> dict[str, object]:
        """Machine-readable facts beside the sentence (`--json` prints them with it)."""
        return {}

    def to_json(self) -> dict[str, object]:
        return {
            "error": self.message,
            "exit": int(self.exit_code),
            "hint": self.hint,
            **self.details(),
        }


class ConfigError(DrkitError):
    """The configuration file is missing, malformed or inconsistent."""

    exit_code = ExitCode.USAGE


class UsageError(DrkitError):
    """The command was given input that cannot be acted on (an unknown target, a bad time)."""

    exit_code = ExitCode.USAGE


class RefusedError(DrkitError):
    """A safety check refused the action; nothing was changed."""

    exit_code = ExitCode.REFUSED


class DestructiveInRange(RefusedError):
    """A plan would apply destructive transactions nobody named (the engine's invariant 1)."""

    def __init__(self, message: str, hint: str | None, ids: tuple[int, ...]) -> None:
        super().__init__(message, hint)
        self.ids = ids

    def details(self) -> dict[str, object]:
        return {"destructive": list(self.ids)}


class TimeNotReachable(RefusedError):
    """A time earlier than what the delayed replica has applied: rolling forward cannot reach it."""

    def __init__(self, message: str, hint: str | None, applied_at: float | None) -> None:
        super().__init__(message, hint)
        self.applied_at = applied_at

    def details(self) -> dict[str, object]:
        return {"applied_at": self.applied_at}


class IndexBehind(RefusedError):
    """A node applied a transaction the index does not hold yet: what it applied is unknown,
    never "nothing" (`drkit index` catches the index up)."""

    def __init__(self, node: str, gtid: str) -> None:
        super().__init__(
            f"the index is behind what {node} has applied (its position GTID {gtid} is not indexed "
            "yet): run `drkit index`",
            hint="nothing was changed; `drkit index` catches the index up "
            "(`drkit index --follow` or `drkit guard` keep it there)",
        )
        self.node = node
        self.gtid = gtid

    def details(self) -> dict[str, object]:
        return {"node": self.node, "unindexed_gtid": self.gtid}


class NodeError(DrkitError):
    """A server could not be reached, refused the login, or failed a statement."""

    exit_code = ExitCode.FAILED


class SandboxError(DrkitError):
    """The local sandbox could not be started, stopped or inspected."""

    exit_code = ExitCode.FAILED
