"""drkit's diagnostics through stdlib logging: each module logs to `logging.getLogger(__name__)`.

The command line configures it once (`configure`): warnings and errors to stderr as text, or with
the syslog priority prefixes journald reads (`<4>drkit.io.alerts: ...`) when drkit runs under
systemd. Nothing here decides anything; stdout stays for data.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

TEXT = "text"
JOURNALD = "journald"
AUTO = "auto"
FORMATS = (AUTO, TEXT, JOURNALD)

_TEXT_FORMAT = "drkit: %(levelname)s: %(name)s: %(message)s"
# journald reads the priority from a `<N>` prefix on each stderr line and stamps the time itself.
_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (the console captures it while it runs)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr


class JournaldFormatter(logging.Formatter):
    """`<PRIORITY>logger: message`, every line of a multi-line message prefixed."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        priority = next((p for level, p in _PRIORITIES if record.levelno >= level), 7)
        return "\n".join(f"<{priority}>{line}" for line in super().format(record).splitlines())


def resolve_format(name: str) -> str:
    """`auto` is journald when stderr goes to the journal (systemd sets $JOURNAL_STREAM), else text."""
    if name != AUTO:
        return name
    return JOURNALD if os.environ.get("JOURNAL_STREAM") else TEXT


def configure(
    fmt: str = AUTO, level: int | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """Send the `drkit` loggers' records to stderr in `fmt`; WARNING unless DRKIT_DEBUG is set.

    Calling it again replaces the handler it installed before (the guard switches to journald).
    """
    logger = logging.getLogger("drkit")
    for installed in [h for h in logger.handlers if getattr(h, "_drkit", False)]:
        logger.removeHandler(installed)
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler._drkit = True  # type: ignore[attr-defined]
    if resolve_format(fmt) == JOURNALD:
        handler.setFormatter(JournaldFormatter())
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT))
    logger.addHandler(handler)
    if level is None:
        level = logging.DEBUG if os.environ.get("DRKIT_DEBUG") else logging.WARNING
    logger.setLevel(level)
    return handler
