"""Placeholder until the HAProxy runtime lands: starting it is refused with a clear sentence."""

from __future__ import annotations

from drkit.errors import SandboxError
from drkit.sandbox.layout import SandboxLayout
from drkit.sandbox.state import HaproxyState, SandboxState


def start_for_sandbox(layout: SandboxLayout, state: SandboxState) -> HaproxyState:
    raise SandboxError("--haproxy is not available yet")


def is_running(state: HaproxyState) -> bool:
    return False


def stop_recorded(state: HaproxyState) -> bool:
    return False
