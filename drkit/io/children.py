"""Child processes that must not outlive drkit (binlog copiers, the index writer)."""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the child when drkit dies (even by SIGKILL).

    None where Linux's prctl is missing. The request is tied to the thread that starts the
    child: the child goes when that thread ends.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # drkit died before the request took effect
            os._exit(1)

    return hook


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl, loaded once in the parent (the hook must not load anything after fork)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return function
