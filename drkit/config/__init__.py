"""drkit.toml -> frozen dataclasses, with one clear sentence for anything wrong in the file.

The package's parts: `schema` (the values and their defaults), `table` (the validation framework),
`loading` (the file and its tables), `redact` (URLs shown without their secrets). Every public name
is importable from here.
"""

from __future__ import annotations

from drkit.config.loading import CONFIG_ENV, DEFAULT_FILE_NAME, load, locate, parse
from drkit.config.redact import redact_url, url_problem
from drkit.config.schema import (
    DAY_NAMES,
    FINDING_CLASSES,
    SEVERITY_LABELS,
    AlertsConfig,
    ClassifyConfig,
    Config,
    DrbdConfig,
    GuardConfig,
    IndexConfig,
    LoadBalancerConfig,
    MaintenanceWindow,
    NodeConfig,
    PasswordSource,
    RetentionConfig,
    Webhook,
)
from drkit.model.roles import Role

__all__ = [
    "CONFIG_ENV",
    "DAY_NAMES",
    "DEFAULT_FILE_NAME",
    "FINDING_CLASSES",
    "SEVERITY_LABELS",
    "AlertsConfig",
    "ClassifyConfig",
    "Config",
    "DrbdConfig",
    "GuardConfig",
    "IndexConfig",
    "LoadBalancerConfig",
    "MaintenanceWindow",
    "NodeConfig",
    "PasswordSource",
    "RetentionConfig",
    "Role",
    "Webhook",
    "load",
    "locate",
    "parse",
    "redact_url",
    "url_problem",
]
