"""Turn any failure inside a worker into a message for the operator, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from textual.message_pump import MessagePump

from drkit.errors import DrkitError
from tui.messages import OperationFailed

BUG_HINT = "this is a bug in drkit: the audit log shows what ran; please report it"


@contextmanager
def reported(target: MessagePump, what: str) -> Iterator[None]:
    """Run a worker's body; a DrkitError or any other exception is posted as OperationFailed."""
    try:
        yield
    except DrkitError as exc:
        target.post_message(OperationFailed(what, exc.message, exc.hint))
    except Exception as exc:
        target.post_message(
            OperationFailed(what, f"internal error: {type(exc).__name__}: {exc}", BUG_HINT)
        )
