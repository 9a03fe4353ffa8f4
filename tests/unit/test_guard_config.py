"""[guard] and [alerts] in drkit.toml: good sections load, every bad rule is a ConfigError at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit import classify, config
from drkit.config import AlertsConfig, GuardConfig, redact_url
from drkit.errors import ConfigError, ExitCode

NODES = """
[nodes.primary]
role = "primary"
host = "127.0.0.1"
port = 3306
user = "drkit"
password = "x"

[nodes.delayed]
role = "delayed"
host = "127.0.0.1"
port = 3307
user = "drkit"
password = "x"
delay = 3600
"""

GUARD = """
[guard]
min_severity = "critical"
ignore_tables = ["tmp.*", "*.scratch_*"]
ignore_classes = ["rename_table", "mass_update"]
mass_rows = 5000

[[guard.maintenance]]
days = ["sat", "Sunday"]
start = "02:00"
end = "04:30"
timezone = "Europe/Paris"

[[guard.maintenance]]
start = "23:00"
end = "01:00"
timezone = "UTC"

[alerts]
commands = [["/usr/local/bin/page", "--team", "db"], ["notify"]]
webhooks = ["https://hooks.example.com/services/T0/B0/SECRETTOKEN", "http://10.0.0.5:8080/"]
timeout = 2.5
retries = 4
"""


def load(tmp_path: Path, text: str) -> config.Config:
    path = tmp_path / "drkit.toml"
    path.write_text(NODES + text, encoding="utf-8")
    return config.load(path)


def test_guard_and_alerts_sections_load(tmp_path: Path) -> None:
    loaded = load(tmp_path, GUARD)
    guard = loaded.guard
    assert guard.min_severity == "critical"
    assert guard.ignore_tables == ("tmp.*", "*.scratch_*")
    assert guard.ignore_classes == ("rename_table", "mass_update")
    assert guard.mass_rows == 5000
    weekend, nightly = guard.maintenance
    assert weekend.days == frozenset({5, 6})
    assert (weekend.start, weekend.end, weekend.timezone) == (120, 270, "Europe/Paris")
    assert weekend.describe() == "sat,sun 02:00-04:30 Europe/Paris"
    assert nightly.days == frozenset(range(7)), "no days: every day"
    assert (nightly.start, nightly.end) == (23 * 60, 60)
    alerts = loaded.alerts
    assert alerts.commands == (("/usr/local/bin/page", "--team", "db"), ("notify",))
    assert [hook.shown for hook in alerts.webhooks] == [
        "https://hooks.example.com/…",
        "http://10.0.0.5:8080",
    ]
    assert (alerts.timeout, alerts.retries) == (2.5, 4)
    assert loaded.guard_state_path == tmp_path.resolve() / "drkit-guard.json"


def test_defaults_without_the_sections(tmp_path: Path) -> None:
    loaded = load(tmp_path, "")
    assert loaded.guard == GuardConfig()
    assert loaded.guard.min_severity == "high" and loaded.guard.mass_rows is None
    assert loaded.alerts == AlertsConfig()
    assert (loaded.alerts.timeout, loaded.alerts.retries) == (10.0, 2)


def test_webhook_tokens_stay_out_of_reprs(tmp_path: Path) -> None:
    loaded = load(tmp_path, GUARD)
    assert "SECRETTOKEN" not in repr(loaded)
    assert "SECRETTOKEN" not in repr(loaded.alerts)


def test_the_config_lists_match_the_classifier() -> None:
    """config spells them out to avoid importing the classifier; they must not drift apart."""
    assert tuple(s.label for s in classify.Severity) == config.SEVERITY_LABELS
    assert set(config.FINDING_CLASSES) == set(classify.SEVERITIES)


BAD = [
    (
        "severity",
        ('min_severity = "critical"', 'min_severity = "severe"'),
        "guard.min_severity: unknown severity 'severe'",
    ),
    (
        "class",
        ('"mass_update"]', '"mass_updates"]'),
        "guard.ignore_classes: unknown class 'mass_updates'",
    ),
    (
        "table pattern",
        ('"tmp.*", ', '"tmp", '),
        "guard.ignore_tables: 'tmp' is not a schema.table pattern",
    ),
    ("mass rows", ("mass_rows = 5000", "mass_rows = 0"), "guard.mass_rows: must be at least 1"),
    ("unknown guard key", ("mass_rows = 5000", "mass_row = 5000"), "guard.mass_row: unknown key"),
    ("day", ('"Sunday"]', '"sundae"]'), "guard.maintenance[0].days: unknown day 'sundae'"),
    (
        "no days",
        ('days = ["sat", "Sunday"]', "days = []"),
        "guard.maintenance[0].days: must name at least one day",
    ),
    (
        "hour",
        ('start = "02:00"', 'start = "25:00"'),
        "guard.maintenance[0].start: '25:00' is not a time of day",
    ),
    (
        "minute",
        ('end = "04:30"', 'end = "04:60"'),
        "guard.maintenance[0].end: '04:60' is not a time of day",
    ),
    (
        "start at 24",
        ('start = "02:00"', 'start = "24:00"'),
        "guard.maintenance[0].start: '24:00' is not a time of day (HH:MM, 00:00 to 23:59)",
    ),
    (
        "text time",
        ('start = "02:00"', 'start = "2am"'),
        "guard.maintenance[0].start: '2am' is not a time of day",
    ),
    ("equal", ('end = "01:00"', 'end = "23:00"'), "guard.maintenance[1].end: equals start"),
    (
        "zone",
        ('timezone = "Europe/Paris"', 'timezone = "Europe/Pariss"'),
        "guard.maintenance[0].timezone: unknown time zone 'Europe/Pariss'",
    ),
    (
        "zone path",
        ('timezone = "Europe/Paris"', 'timezone = "../etc/passwd"'),
        "guard.maintenance[0].timezone: unknown time zone",
    ),
    ("no zone", ('timezone = "UTC"\n', ""), "guard.maintenance[1].timezone: missing (required)"),
    (
        "window key",
        ('timezone = "UTC"', 'timezone = "UTC"\nduration = 3'),
        "guard.maintenance[1].duration: unknown key",
    ),
    (
        "command string",
        ('commands = [["/usr/local/bin/page", "--team", "db"], ["notify"]]', 'commands = "page"'),
        "alerts.commands: expected a list of argv lists",
    ),
    (
        "command shell line",
        ('["notify"]]', '"notify --now"]'),
        "alerts.commands: item 2 must be a non-empty list of strings",
    ),
    (
        "empty argv",
        ('["notify"]]', "[]]"),
        "alerts.commands: item 2 must be a non-empty list of strings",
    ),
    (
        "scheme",
        ('"http://10.0.0.5:8080/"', '"ftp://10.0.0.5/TOKEN42"'),
        "alerts.webhooks: item 2 is not an http or https URL (scheme 'ftp')",
    ),
    (
        "no host",
        ('"http://10.0.0.5:8080/"', '"https:///TOKEN42"'),
        "alerts.webhooks: item 2 has no host",
    ),
    (
        "bad port",
        ('"http://10.0.0.5:8080/"', '"http://10.0.0.5:99999/TOKEN42"'),
        "alerts.webhooks: item 2 is not a valid URL",
    ),
    ("retries", ("retries = 4", "retries = 11"), "alerts.retries: must be between 0 and 10"),
    ("timeout", ("timeout = 2.5", "timeout = 0"), "alerts.timeout: must be more than zero"),
    ("unknown alerts key", ("retries = 4", "retry = 4"), "alerts.retry: unknown key"),
]


@pytest.mark.parametrize(("case", "edit", "expected"), BAD, ids=[c[0] for c in BAD])
def test_a_bad_rule_is_a_config_error(
    tmp_path: Path, case: str, edit: tuple[str, str], expected: str
) -> None:
    old, new = edit
    assert old in GUARD, case
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, GUARD.replace(old, new, 1))
    message = str(raised.value)
    assert expected in message
    assert message.startswith(str((tmp_path / "drkit.toml").resolve()))
    assert raised.value.exit_code is ExitCode.USAGE
    assert "TOKEN42" not in message, "a webhook URL may hold a token: never echo it"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/…"),
        ("https://user:pass@example.com/", "https://example.com"),
        ("http://127.0.0.1:8080/hook?token=abc", "http://127.0.0.1:8080/…"),
        ("https://example.com", "https://example.com"),
        ("https://example.com/?key=1", "https://example.com/…"),
        ("http://[::1]:9/x", "http://[::1]:9/…"),
    ],
)
def test_redacted_urls_show_only_scheme_host_and_port(url: str, shown: str) -> None:
    assert redact_url(url) == shown
