"""Parse `drbdsetup status --json` (DRBD 9)."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from drkit.model.drbd.resource import (
    ROLES,
    DrbdFormat,
    DrbdPeer,
    DrbdPeerVolume,
    DrbdResource,
    DrbdVolume,
    eta,
)


def parse_drbdsetup_json(text: str) -> tuple[DrbdResource, ...]:
    """Resources from `drbdsetup status --json` (DRBD 9)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"drbdsetup JSON: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, list):
        raise ValueError(f"drbdsetup JSON: expected an array of resources, got {_json_kind(data)}")
    return tuple(_json_resource(_JsonObject.at(item, f"[{i}]")) for i, item in enumerate(data))


_JSON_SUSPENSIONS = (
    ("suspended-user", "user"),
    ("suspended-no-data", "no-data"),
    ("suspended-fencing", "fencing"),
    ("suspended-quorum", "quorum"),
)


def _json_resource(obj: _JsonObject) -> DrbdResource:
    suspended = tuple(reason for key, reason in _JSON_SUSPENSIONS if obj.optional_bool(key))
    if not suspended and obj.optional_bool("suspended"):
        suspended = ("unspecified",)
    return DrbdResource(
        name=obj.string("name"),
        role=obj.role("role"),
        volumes=tuple(_json_volume(device) for device in obj.objects("devices")),
        peers=tuple(_json_peer(connection) for connection in obj.objects("connections")),
        source=DrbdFormat.JSON,
        node_id=obj.optional_integer("node-id"),
        suspended=suspended,
    )


def _json_volume(obj: _JsonObject) -> DrbdVolume:
    return DrbdVolume(
        volume=obj.integer("volume"),
        disk=obj.string("disk-state"),
        minor=obj.optional_integer("minor"),
        client=obj.optional_bool("client"),
        quorum=obj.optional_bool("quorum"),
    )


def _json_peer(obj: _JsonObject) -> DrbdPeer:
    # drbdsetup spells this one key with an underscore; accept the hyphen in case it is ever fixed.
    devices = obj.objects("peer_devices", "peer-devices")
    return DrbdPeer(
        name=obj.string("name"),
        connection=obj.string("connection-state"),
        role=obj.role("peer-role"),
        node_id=obj.optional_integer("peer-node-id"),
        volumes=tuple(_json_peer_volume(device) for device in devices),
    )


def _json_peer_volume(obj: _JsonObject) -> DrbdPeerVolume:
    return DrbdPeerVolume(
        volume=obj.integer("volume"),
        replication=obj.string("replication-state"),
        peer_disk=obj.string("peer-disk-state"),
        peer_client=obj.optional_bool("peer-client"),
        sync_percent=obj.optional_number("percent-resync-done"),
        eta_seconds=eta(obj.optional_number("estimated-seconds-to-finish")),
        out_of_sync_kib=obj.optional_integer("out-of-sync"),
    )


class _JsonObject:
    """A JSON object being read: typed getters whose errors name the path to the key."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        self._data = data
        self._where = where

    @classmethod
    def at(cls, value: object, where: str) -> _JsonObject:
        if not isinstance(value, dict):
            raise ValueError(f"drbdsetup JSON {where}: expected an object, got {_json_kind(value)}")
        return cls(value, where)

    def _fail(self, key: str, problem: str) -> NoReturn:
        raise ValueError(f"drbdsetup JSON {self._where}.{key}: {problem}")

    def _required(self, key: str) -> object:
        if key not in self._data:
            self._fail(key, "missing")
        return self._data[key]

    def string(self, key: str) -> str:
        value = self._required(key)
        if not isinstance(value, str) or not value:
            self._fail(key, f"expected a non-empty string, got {_json_kind(value)}")
        return value

    def role(self, key: str) -> str:
        value = self.string(key)
        if value not in ROLES:
            self._fail(key, f"{value!r} is not a DRBD role ({', '.join(sorted(ROLES))})")
        return value

    def integer(self, key: str) -> int:
        value = self._required(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self._fail(key, f"expected a whole number, got {_json_kind(value)}")
        return value

    def optional_integer(self, key: str) -> int | None:
        return None if self._data.get(key) is None else self.integer(key)

    def optional_number(self, key: str) -> float | None:
        value = self._data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._fail(key, f"expected a number, got {_json_kind(value)}")
        return float(value)

    def optional_bool(self, key: str) -> bool | None:
        value = self._data.get(key)
        if value is not None and not isinstance(value, bool):
            self._fail(key, f"expected true or false, got {_json_kind(value)}")
        return value

    def objects(self, key: str, *other_spellings: str) -> list[_JsonObject]:
        found = next((k for k in (key, *other_spellings) if k in self._data), key)
        value = self._required(found)
        if not isinstance(value, list):
            self._fail(found, f"expected an array, got {_json_kind(value)}")
        return [_JsonObject.at(item, f"{self._where}.{found}[{i}]") for i, item in enumerate(value)]


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    return "an array" if isinstance(value, list) else "an object"
