"""The validation framework: a TOML table read through typed getters that fail with file, key and problem."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from drkit.errors import ConfigError

T = TypeVar("T")


class Table:
    """A TOML table being validated: typed getters that fail with file, key and problem."""

    def __init__(self, data: Mapping[str, Any], file: Path, prefix: str) -> None:
        self._data = data
        self._file = file
        self._prefix = prefix
        self._seen: set[str] = set()

    def names(self) -> Iterator[str]:
        yield from self._data.keys()

    @property
    def file(self) -> Path:
        return self._file

    def fail(self, key: str | None, problem: str) -> NoReturn:
        where = self._qualified(key) if key else (self._prefix.rstrip(".") or "top level")
        raise ConfigError(f"{self._file}: {where}: {problem}")

    def _qualified(self, key: str) -> str:
        return f"{self._prefix}{key}"

    def missing(self, key: str, problem: str = "missing (required)") -> NoReturn:
        """Fail for a key that is not there, naming a typo of it when the table holds one
        (`dealy = 3600` is reported as the unknown key `dealy`, not as a missing delay)."""
        typo = self.typo_of(key)
        if typo is not None:
            self.fail(typo, f"unknown key (did you mean {key!r}?)")
        self.fail(key, problem)

    def typo_of(self, key: str) -> str | None:
        """A key nobody asked for that looks like `key` misspelt, if the table holds one."""
        import difflib

        candidates = [k for k in self._data if k not in self._seen and k != key]
        close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.75)
        return close[0] if close else None

    def _get(self, key: str, kind: type[T], kind_name: str, required: bool) -> T | None:
        self._seen.add(key)
        if key not in self._data:
            if required:
                self.missing(key)
            return None
        value = self._data[key]
        # bool is an int in Python; a port of `true` is still a mistake.
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            self.fail(key, f"expected {kind_name}, got {describe(value)}")
        return value

    def string(self, key: str) -> str:
        value = self._get(key, str, "a string", required=True)
        if value is None or not value.strip():
            self.fail(key, "must not be empty")
        return value

    def optional_string(self, key: str) -> str | None:
        return self._get(key, str, "a string", required=False)

    def integer(self, key: str) -> int:
        value = self._get(key, int, "an integer", required=True)
        if value is None:
            self.fail(key, "missing (required)")
        return value

    def optional_integer(self, key: str) -> int | None:
        return self._get(key, int, "an integer", required=False)

    def optional_number(self, key: str) -> float | None:
        self._seen.add(key)
        value = self._data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(key, f"expected a number, got {describe(value)}")
        if value <= 0:
            self.fail(key, "must be more than zero")
        return float(value)

    def optional_bool(self, key: str) -> bool | None:
        return self._get(key, bool, "true or false", required=False)

    def optional_string_list(self, key: str) -> list[str] | None:
        value = self._get(key, list, "a list of strings", required=False)
        if value is not None and not all(isinstance(item, str) for item in value):
            self.fail(key, "expected a list of strings")
        return value

    def table(self, key: str) -> Table:
        value = self._get(key, dict, "a table", required=True)
        if value is None:
            self.fail(key, "missing (required)")
        return Table(value, self._file, f"{self._qualified(key)}.")

    def optional_table(self, key: str) -> Table | None:
        value = self._get(key, dict, "a table", required=False)
        return None if value is None else Table(value, self._file, f"{self._qualified(key)}.")

    def table_array(self, key: str) -> list[Table]:
        value = self._get(key, list, "an array of tables ([[...]])", required=False)
        if value is None:
            return []
        tables = []
        for position, item in enumerate(value):
            if not isinstance(item, dict):
                self.fail(key, f"item {position + 1} is {describe(item)}, expected a table")
            tables.append(Table(item, self._file, f"{self._qualified(key)}[{position}]."))
        return tables

    def raw(self, key: str) -> Any:
        self._seen.add(key)
        return self._data.get(key)

    def finish(self) -> None:
        """Reject keys nobody asked for: they are typos or options from another version."""
        unknown = [key for key in self._data if key not in self._seen]
        if unknown:
            import difflib

            close = difflib.get_close_matches(unknown[0], sorted(self._seen), n=1, cutoff=0.75)
            said = f" (did you mean {close[0]!r}?)" if close else ""
            self.fail(unknown[0], f"unknown key{said}")


def describe(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def resolve(folder: Path, value: str) -> Path:
    """`value` as a path, relative to the config file's folder unless absolute."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else folder / path
