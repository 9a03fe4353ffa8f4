"""Read and validate a playbook; every problem names the file, the line and what is wrong.

A playbook is YAML: a name, a description, parameters with defaults, and ordered steps, each a
one-key mapping `- KIND: {param: value, ...}`. Unknown step kinds and unknown parameters are
errors, never ignored. `{name}` in a string is replaced by a parameter's value (a string that is
only `{name}` takes the parameter's own type).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from drkit.errors import UsageError


class PlaybookError(UsageError):
    """The playbook cannot be run as written (exit code 2)."""


@dataclass(frozen=True)
class Param:
    kinds: tuple[type, ...]
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()


def _p(
    *kinds: type, required: bool = False, default: Any = None, choices: tuple[str, ...] = ()
) -> Param:
    return Param(kinds, required, default, choices)


TITLE = {"title": _p(str)}
NODES = ("primary", "replica", "delayed")

# What each step kind accepts. Types are checked after parameter substitution.
STEP_KINDS: dict[str, dict[str, Param]] = {
    "sandbox": {
        **TITLE,
        "delay": _p(int, default=3600),
        "haproxy": _p(bool, default=False),
        "options": _p(dict, default={}),
    },
    "workload": {
        **TITLE,
        "seed": _p(int, default=1),
        "tables": _p(dict, required=True),
        "transactions": _p(int, default=0),
    },
    "snapshot": {
        **TITLE,
        "name": _p(str, required=True),
        "tables": _p(list, required=True),
        "node": _p(str, default="primary"),
    },
    "disaster": {**TITLE, "sql": _p(str, list, required=True), "node": _p(str, default="primary")},
    "kill": {**TITLE, "node": _p(str, required=True)},
    "index": {**TITLE},
    "detect": {**TITLE, "class": _p(str, required=True), "within": _p(int, float, default=30)},
    "freeze": {**TITLE, "node": _p(str)},
    "recover": {
        **TITLE,
        "before": _p(str, int),
        "skip": _p(str, int, list),
        "until": _p(str, int),
        "until_time": _p(str),
        "apply_through": _p(str, int, list),
        "strategy": _p(str, default="auto", choices=("auto", "upstream", "relay", "archive")),
        "expect_strategy": _p(str, choices=("upstream", "relay", "archive")),
        "parallel": _p(int, default=0),
        "timeout": _p(int, float, default=600),
        "node": _p(str),
    },
    "extract": {**TITLE, "table": _p(str, required=True), "into": _p(str)},
    "check": {
        **TITLE,
        "what": _p(str, default="promotion", choices=("promotion",)),
        "expect": _p(str, default="pass", choices=("pass", "refuse")),
    },
    "promote": {**TITLE},
    "verify": {
        **TITLE,
        "snapshot": _p(str),
        "tables": _p(list),
        "node": _p(str, default="delayed"),
        "sql": _p(str, list),
        "expect": _p(str, int, float, bool, list),
        "through": _p(str, choices=("loadbalancer",)),
        "rename": _p(dict),
    },
    "resume": {**TITLE, "node": _p(str), "apply_through": _p(str, int, list)},
    # Historic inspection: record moments, change the data, ask the moments back.
    "moment": {
        **TITLE,
        "name": _p(str, required=True),
        "tables": _p(list, required=True),
        "node": _p(str, default="primary"),
    },
    "changes": {
        **TITLE,
        "seed": _p(int, default=1),
        "table": _p(str, required=True),
        "transactions": _p(int, default=50),
    },
    "inspect": {**TITLE, "at": _p(str, required=True), "tables": _p(list, required=True)},
    "asof": {**TITLE, "at": _p(str, required=True), "table": _p(str, required=True)},
}

# Steps that damage data: refused on a configured (non-sandbox) topology without --allow-destructive.
DESTRUCTIVE_KINDS = frozenset({"disaster", "kill"})
# Steps that change a server: a real topology asks before running them.
CHANGING_KINDS = frozenset(
    {
        "disaster",
        "kill",
        "freeze",
        "recover",
        "extract",
        "promote",
        "resume",
        "workload",
        "changes",
        "inspect",
        "asof",
    }
)


@dataclass(frozen=True)
class StepSpec:
    kind: str
    params: Mapping[str, Any]
    line: int

    @property
    def title(self) -> str:
        explicit = self.params.get("title")
        if explicit:
            return str(explicit)
        shown = {
            k: v
            for k, v in self.params.items()
            if k != "title" and STEP_KINDS[self.kind][k].default != v
        }
        detail = ", ".join(f"{k}={_short(v)}" for k, v in shown.items())
        return f"{self.kind}" + (f" ({detail})" if detail else "")


@dataclass(frozen=True)
class Playbook:
    path: Path
    name: str
    description: str
    parameters: Mapping[str, Any]
    steps: tuple[StepSpec, ...] = field(default=())

    @property
    def uses_sandbox(self) -> bool:
        return any(step.kind == "sandbox" for step in self.steps)

    @property
    def destructive_steps(self) -> tuple[StepSpec, ...]:
        return tuple(step for step in self.steps if step.kind in DESTRUCTIVE_KINDS)


def load_playbook(path: Path, overrides: Mapping[str, str] | None = None) -> Playbook:
    """Parse and validate; PlaybookError names `path:line` and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlaybookError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise PlaybookError(
            f"{path}{line}: not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from None
    where = _Where(path)
    if not isinstance(root, yaml.MappingNode):
        raise PlaybookError(
            f"{path}:1: a playbook is a mapping with name, description, parameters and steps"
        )
    top = where.mapping(root)
    allowed = {"name", "description", "parameters", "steps"}
    for key, (node, _) in top.items():
        if key not in allowed:
            where.fail(node, f"unknown key {key!r} (a playbook has: {', '.join(sorted(allowed))})")
    name = where.scalar_str(top, "name", root, required=True) or ""
    description = where.scalar_str(top, "description", root, required=False) or ""
    parameters = _parameters(where, top.get("parameters"), overrides or {})
    steps_entry = top.get("steps")
    if steps_entry is None:
        where.fail(root, "missing key 'steps'")
    steps_node = steps_entry[1]
    if not isinstance(steps_node, yaml.SequenceNode) or not steps_node.value:
        where.fail(steps_node, "steps must be a non-empty list")
    steps = tuple(_step(where, item, parameters) for item in steps_node.value)
    _check_order(where, steps)
    return Playbook(path, name, description, parameters, steps)


def _parameters(
    where: _Where, entry: tuple[yaml.Node, yaml.Node] | None, overrides: Mapping[str, str]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if entry is not None:
        node = entry[1]
        if not isinstance(node, yaml.MappingNode):
            where.fail(node, "parameters must be a mapping of name: default")
        for key, (_, value_node) in where.mapping(node).items():
            values[key] = where.plain(value_node)
    for key, raw in overrides.items():
        if key not in values:
            known = ", ".join(sorted(values)) or "none"
            raise PlaybookError(
                f"{where.path}: --param {key}: the playbook has no such parameter (it has: {known})"
            )
        values[key] = _coerce(raw, values[key], f"{where.path}: --param {key}")
    return values


def _step(where: _Where, node: yaml.Node, parameters: Mapping[str, Any]) -> StepSpec:
    if not isinstance(node, yaml.MappingNode) or len(node.value) != 1:
        where.fail(node, "each step is a one-key mapping: `- KIND: {params}`")
    key_node, value_node = node.value[0]
    kind = str(key_node.value)
    if kind not in STEP_KINDS:
        where.fail(key_node, f"unknown step kind {kind!r} (known: {', '.join(STEP_KINDS)})")
    raw: dict[str, tuple[yaml.Node, Any]] = {}
    if isinstance(value_node, yaml.MappingNode):
        for param, (param_node, param_value) in where.mapping(value_node).items():
            raw[param] = (param_node, where.plain(param_value))
    elif not (isinstance(value_node, yaml.ScalarNode) and value_node.value in ("", "~", "null")):
        where.fail(value_node, f"the parameters of {kind} must be a mapping")
    params = _params(where, kind, raw, parameters, key_node)
    step = StepSpec(kind, params, key_node.start_mark.line + 1)
    _check_step(where, step, key_node)
    return step


def _params(
    where: _Where,
    kind: str,
    raw: Mapping[str, tuple[yaml.Node, Any]],
    parameters: Mapping[str, Any],
    key_node: yaml.Node,
) -> dict[str, Any]:
    """Substitute, type-check and default one step's parameters."""
    schema = STEP_KINDS[kind]
    params: dict[str, Any] = {}
    for param, (param_node, given) in raw.items():
        spec = schema.get(param)
        if spec is None:
            where.fail(
                param_node, f"{kind}: unknown parameter {param!r} (known: {', '.join(schema)})"
            )
        value = _substitute(given, parameters, where, param_node)
        if not isinstance(value, spec.kinds) or (
            isinstance(value, bool) and bool not in spec.kinds
        ):
            names = " or ".join(k.__name__ for k in spec.kinds)
            where.fail(
                param_node, f"{kind}: {param} must be {names}, not {type(value).__name__} {value!r}"
            )
        if spec.choices and value not in spec.choices:
            where.fail(
                param_node,
                f"{kind}: {param} must be one of {', '.join(spec.choices)}, not {value!r}",
            )
        params[param] = value
    for param, spec in schema.items():
        if param not in params:
            if spec.required:
                where.fail(key_node, f"{kind}: missing required parameter {param!r}")
            if spec.default is not None:
                params[param] = spec.default
    return params


def _check_step(where: _Where, step: StepSpec, node: yaml.Node) -> None:
    params = step.params
    for key in ("node",):
        if key in params and params[key] is not None and params[key] not in NODES:
            where.fail(
                node, f"{step.kind}: node must be one of {', '.join(NODES)}, not {params[key]!r}"
            )
    if step.kind == "recover":
        forms = [k for k in ("before", "skip", "until_time") if params.get(k) is not None]
        if len(forms) != 1:
            where.fail(node, "recover: give exactly one of before, skip, until_time")
        if params.get("until") is not None and params.get("skip") is None:
            where.fail(node, "recover: until goes with skip")
    if step.kind == "verify":
        if (params.get("snapshot") is None) == (params.get("sql") is None):
            where.fail(
                node, "verify: give either snapshot (compare with a snapshot) or sql with expect"
            )
        if params.get("sql") is not None and "expect" not in params:
            where.fail(node, "verify: sql needs expect (the value the last statement must return)")
    if step.kind == "workload":
        for table, rows in params["tables"].items():
            if (
                not isinstance(table, str)
                or table.count(".") != 1
                or not isinstance(rows, int)
                or rows < 0
            ):
                where.fail(
                    node,
                    f"workload: tables maps schema.table to a row count; got {table!r}: {rows!r}",
                )


def _check_order(where: _Where, steps: tuple[StepSpec, ...]) -> None:
    snapshots: set[str] = set()
    for position, step in enumerate(steps):
        if step.kind == "sandbox" and position != 0:
            raise PlaybookError(f"{where.path}:{step.line}: sandbox must be the first step")
        if step.kind in ("snapshot", "moment"):
            snapshots.add(step.params["name"])
        if step.kind in ("inspect", "asof") and step.params["at"] not in snapshots:
            raise PlaybookError(
                f"{where.path}:{step.line}: {step.kind}: no moment named {step.params['at']!r} "
                "was recorded before this step"
            )
        if (
            step.kind == "verify"
            and step.params.get("snapshot")
            and step.params["snapshot"] not in snapshots
        ):
            raise PlaybookError(
                f"{where.path}:{step.line}: verify: no snapshot named {step.params['snapshot']!r} was taken before this step"
            )


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _substitute(value: Any, parameters: Mapping[str, Any], where: _Where, node: yaml.Node) -> Any:
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            name = whole.group(1)
            if name not in parameters:
                where.fail(node, f"unknown parameter {{{name}}}")
            return parameters[name]

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in parameters:
                where.fail(node, f"unknown parameter {{{name}}}")
            return str(parameters[name])

        return _PLACEHOLDER.sub(replace, value)
    if isinstance(value, list):
        return [_substitute(item, parameters, where, node) for item in value]
    if isinstance(value, dict):
        return {
            _substitute(k, parameters, where, node): _substitute(v, parameters, where, node)
            for k, v in value.items()
        }
    return value


def _coerce(raw: str, default: Any, where: str) -> Any:
    if isinstance(default, bool):
        if raw.lower() in ("true", "yes", "1"):
            return True
        if raw.lower() in ("false", "no", "0"):
            return False
        raise PlaybookError(f"{where}: expected true or false, got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise PlaybookError(f"{where}: expected an integer, got {raw!r}") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise PlaybookError(f"{where}: expected a number, got {raw!r}") from None
    return raw


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Where:
    """Turns YAML nodes into plain values while remembering their line numbers for errors."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node, problem: str) -> NoReturn:
        raise PlaybookError(f"{self.path}:{node.start_mark.line + 1}: {problem}")

    def mapping(self, node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in found:
                self.fail(key_node, f"duplicate key {key!r}")
            found[key] = (key_node, value_node)
        return found

    def scalar_str(
        self,
        top: Mapping[str, tuple[yaml.Node, yaml.Node]],
        key: str,
        root: yaml.Node,
        required: bool,
    ) -> str | None:
        entry = top.get(key)
        if entry is None:
            if required:
                self.fail(root, f"missing key {key!r}")
            return None
        value = self.plain(entry[1])
        if not isinstance(value, str) or not value.strip():
            self.fail(entry[1], f"{key} must be a non-empty string")
        return str(value)

    def plain(self, node: yaml.Node) -> Any:
        return yaml.safe_load(yaml.serialize(node))
