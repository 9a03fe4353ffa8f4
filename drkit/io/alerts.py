"""Deliver the guard's alerts: run each configured command with the alert as JSON on stdin, and
POST the same JSON to each webhook, with a timeout and retries.

Delivery happens on worker threads after the freeze and never blocks the guard; each outcome is
written to the audit log. Webhook URLs may hold tokens: only their redacted form is ever shown.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drkit import __version__
from drkit.config import AlertsConfig, Webhook
from drkit.errors import ConfigError
from drkit.io.audit import AuditLog
from drkit.io.command import run as command_run
from drkit.retry import SYSTEM_CLOCK, Backoff, Clock, Retry

log = logging.getLogger(__name__)

# The pauses between an alert's attempts (the last repeats): short first, a network blip.
ALERT_BACKOFF = Backoff((0.5, 1.0, 2.0, 5.0))


@dataclass(frozen=True)
class Delivery:
    """How one alert went to one target."""

    target: str  # "command /usr/local/bin/page" or "webhook https://hooks.example.com/…"
    ok: bool
    attempts: int
    detail: str

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target,
            "ok": self.ok,
            "attempts": self.attempts,
            "detail": self.detail,
        }


def check_commands(config: AlertsConfig) -> None:
    """ConfigError when an alert command's program cannot be found: say so at start, not at 3 a.m."""
    for argv in config.commands:
        program = argv[0]
        found = shutil.which(program) if os.sep not in program else program
        if found is None or not os.access(found, os.X_OK) or not Path(found).is_file():
            raise ConfigError(
                f"[alerts] commands: {program!r} is not an executable program (no shell is used)",
                hint="give the program's full path, or make it executable",
            )


class Alerter:
    """Sends alerts to every configured target on worker threads; `drain` waits for them."""

    def __init__(
        self,
        config: AlertsConfig,
        audit: AuditLog,
        report: Callable[[str], None] = lambda _: None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.config = config
        self.audit = audit
        self.report = report
        self.clock = clock  # the pauses between attempts (tests pretend)
        targets = len(config.commands) + len(config.webhooks)
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, min(targets, 8)), thread_name_prefix="alert"
        )
        self._pending: set[Future[Delivery]] = set()
        self._lock = threading.Lock()

    @property
    def targets(self) -> int:
        return len(self.config.commands) + len(self.config.webhooks)

    def send(self, alert: dict[str, Any]) -> None:
        """Queue `alert` for every target and return at once."""
        body = json.dumps(alert, default=str).encode("utf-8")
        context = {
            "alert": alert.get("alert"),
            "transaction": alert.get("transaction", {}).get("id"),
        }
        for argv in self.config.commands:
            self._submit(functools.partial(self._command, argv, body), context)
        for hook in self.config.webhooks:
            self._submit(functools.partial(self._webhook, hook, body), context)

    def deliver(self, alert: dict[str, Any]) -> list[Delivery]:
        """Send to every target and wait for the outcomes (tests and `--once`)."""
        self.send(alert)
        return self.drain()

    def drain(self, timeout: float | None = None) -> list[Delivery]:
        """Wait for queued deliveries (at most `timeout` seconds); the ones that finished."""
        limit = timeout if timeout is not None else self.worst_case()
        deadline = time.monotonic() + limit
        with self._lock:
            pending = list(self._pending)
        done = []
        for future in pending:
            try:
                done.append(future.result(timeout=max(0.0, deadline - time.monotonic())))
            except TimeoutError:
                log.warning(
                    "an alert was still being delivered after %.0f s: not waited for", limit
                )
            except Exception:
                log.exception("an alert delivery failed unexpectedly")
        return done

    def worst_case(self) -> float:
        """How long one delivery may take with every retry timing out."""
        retries = self.config.retries
        return (retries + 1) * self.config.timeout + ALERT_BACKOFF.total(retries) + 1.0

    def __enter__(self) -> Alerter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, timeout: float | None = None) -> None:
        self.drain(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- delivery -------------------------------------------------------------------------------

    def _submit(self, work: Callable[[], Delivery], context: dict[str, Any]) -> None:
        def run() -> Delivery:
            try:
                delivery = work()
            except Exception as exc:  # a bug here must not take the guard down
                delivery = Delivery("?", False, 0, f"internal error: {type(exc).__name__}")
            self.audit.event("guard-alert", **context, **delivery.to_json())
            if not delivery.ok:
                self.report(
                    f"alert to {delivery.target} failed after {delivery.attempts} attempts: "
                    f"{delivery.detail}"
                )
            return delivery

        future = self._pool.submit(run)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[Delivery]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _retrying(self, target: str, attempt_once: Callable[[], str | None]) -> Delivery:
        problem = "not tried"
        attempts = 0
        for attempts in Retry(ALERT_BACKOFF, attempts=self.config.retries + 1, clock=self.clock):
            problem = attempt_once() or ""
            if not problem:
                return Delivery(target, True, attempts, "delivered")
        return Delivery(target, False, attempts, problem)

    def _command(self, argv: tuple[str, ...], body: bytes) -> Delivery:
        timeout = self.config.timeout

        def once() -> str | None:
            try:
                finished = command_run(argv, timeout=timeout, input=body, capture_stdout=False)
            except OSError as exc:
                return f"cannot run it: {exc.strerror or exc}"
            if finished.timed_out:
                return f"timed out after {timeout:g}s"
            if not finished.ok:
                return f"exit {finished.returncode}: {_last_line(finished.stderr)}"
            return None

        return self._retrying(f"command {argv[0]}", once)

    def _webhook(self, hook: Webhook, body: bytes) -> Delivery:
        timeout = self.config.timeout

        def once() -> str | None:
            # The config accepts only http and https URLs (drkit.config.url_problem).
            request = urllib.request.Request(  # noqa: S310
                hook.url,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "User-Agent": f"drkit-guard/{__version__}",
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                    status = int(response.status)
            except urllib.error.HTTPError as exc:
                return f"HTTP {exc.code} {exc.reason}"
            except urllib.error.URLError as exc:
                return _without_url(f"{exc.reason}", hook)
            except (OSError, ValueError) as exc:
                return _without_url(f"{type(exc).__name__}: {exc}", hook)
            return None if 200 <= status < 300 else f"HTTP {status}"

        return self._retrying(f"webhook {hook.shown}", once)


def _without_url(text: str, hook: Webhook) -> str:
    """An error message with the webhook's URL (and so its token) taken out."""
    from urllib.parse import urlsplit

    cleaned = text.replace(hook.url, hook.shown)
    with contextlib.suppress(ValueError):
        parts = urlsplit(hook.url)
        for secret in (parts.path, parts.query, parts.username, parts.password):
            if secret and len(secret) > 1:
                cleaned = cleaned.replace(secret, "…")
    return cleaned


def _last_line(err: bytes | None) -> str:
    lines = (err or b"").decode("utf-8", "replace").strip().splitlines()
    return lines[-1][:200] if lines else "no message"
