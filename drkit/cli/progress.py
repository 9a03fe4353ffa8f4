"""A progress line on stderr: a bar on a terminal, a plain line every few seconds otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from drkit.plan.executor import Progress
from drkit.render import duration


class ProgressLine:
    def __init__(self, stream: TextIO | None = None, interval: float = 2.0) -> None:
        self.stream: TextIO = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval
        self._last = 0.0
        self._drawn = False

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        done = progress.remaining == 0
        if not self.tty and not done and now - self._last < self.interval:
            return
        self._last = now
        total = progress.applied + progress.remaining
        fraction = progress.applied / total if total else 1.0
        eta = duration(progress.eta) if progress.eta is not None else "?"
        text = (
            f"step {progress.step}/{progress.steps}: applied {progress.applied}/{total} "
            f"({progress.rate:.0f}/s), {progress.remaining} remaining, eta {eta}"
        )
        write = self.stream.write
        if self.tty:
            width = 24
            filled = int(fraction * width)
            write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}\x1b[K")
            self._drawn = True
            if done:
                write("\n")
                self._drawn = False
        else:
            write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self._drawn = False
