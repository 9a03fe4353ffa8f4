"""URLs checked and shown without their secrets: webhook paths and queries often hold tokens."""

from __future__ import annotations

from urllib.parse import urlsplit


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook (without quoting it), or None when it can."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return f"is not an http or https URL (scheme {parts.scheme or 'missing'!r})"
    if not parts.hostname:
        return "has no host"
    return None


def redact_url(url: str) -> str:
    """`https://hooks.example.com/…`: scheme, host and port only, since paths and queries hold tokens."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    tail = "/…" if parts.path.strip("/") or parts.query or parts.fragment else ""
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return f"{parts.scheme}://{host}{port}{tail}"
