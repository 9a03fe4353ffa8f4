"""The older half of a big transaction's statements, written by a helper process meanwhile.

A million-row DELETE is one transaction of a few thousand Rows events. For `--sql FILE`, a forked
helper writes the statements of the older half into a file of its own (asking the primary about
its rows through a connection of its own) while drkit writes the newer half; the file then takes
drkit's half and the helper's, newest first. The helper is forked before drkit opens a connection
or starts a thread, so nothing is copied in the middle of its use, and it dies with drkit.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from drkit.binlog import events as ev
from drkit.binlog.events import FormatDescription
from drkit.binlog.tablemap import parse_table_id
from drkit.errors import DrkitError, ExitCode, RefusedError, UsageError
from drkit.flashback.probe import Changed
from drkit.io.children import die_with_parent

MIN_EVENTS = 64  # Rows events below which one process writes everything


@dataclass
class HalfWritten:
    """What the helper wrote: statements, and the rows it found changed since."""

    statements: int
    checked: bool
    found: list[Changed] = field(default_factory=list)
    count: int = 0


def halves(
    buf: bytes,
    fmt: FormatDescription,
    offsets: Sequence[tuple[int, int]],
    min_events: int = MIN_EVENTS,
) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]] | None:
    """(newer, older) halves of a transaction's events, each readable on its own (the newer
    half starts with the Table_map events in force where it begins); None when small."""
    rows = [n for n, (start, _) in enumerate(offsets) if buf[start + 4] != ev.TABLE_MAP_EVENT]
    if len(rows) < max(2, min_events):
        return None
    cut = rows[len(rows) // 2]
    in_force: dict[int, tuple[int, int]] = {}
    post_header_len = fmt.post_header_len(ev.TABLE_MAP_EVENT)
    for start, end in offsets[:cut]:
        if buf[start + 4] == ev.TABLE_MAP_EVENT:
            in_force[parse_table_id(buf, start + fmt.header_len, post_header_len)] = (start, end)
    return (*in_force.values(), *offsets[cut:]), tuple(offsets[:cut])


class Helper:
    """A forked process running one piece of work; its answer, or its failure, comes back."""

    def __init__(self, work: Callable[[], HalfWritten], part: Path) -> None:
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self.part = part
        hook = die_with_parent()  # made here: it compares the helper's parent with this pid
        self._process: Any = context.Process(target=_run, args=(work, send, hook), daemon=True)
        self._process.start()
        send.close()

    def result(self) -> HalfWritten:
        """Wait for the helper's answer; its refusal or failure is raised here."""
        try:
            answer = self._receive.recv()
        except EOFError:
            raise DrkitError(
                "the helper process writing the older half of the statements died"
            ) from None
        finally:
            self._process.join()
        if isinstance(answer, HalfWritten):
            return answer
        code, message, hint = answer
        if code == ExitCode.REFUSED:
            raise RefusedError(message, hint=hint)
        if code == ExitCode.USAGE:
            raise UsageError(message, hint=hint)
        raise DrkitError(message, hint=hint)

    def stop(self) -> None:
        """End the helper if it still runs and remove its file."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._receive.close()
        with contextlib.suppress(OSError):
            self.part.unlink()


def _run(
    work: Callable[[], HalfWritten], send: Connection, hook: Callable[[], None] | None
) -> None:
    if hook is not None:
        hook()
    try:
        answer: object = work()
    except DrkitError as exc:
        answer = (int(exc.exit_code), exc.message, exc.hint)
    except Exception as exc:  # the parent says what failed; a traceback would go nowhere
        answer = (int(ExitCode.FAILED), f"{type(exc).__name__}: {exc}", None)
    send.send(answer)
    send.close()
