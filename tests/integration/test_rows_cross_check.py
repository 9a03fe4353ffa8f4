"""A second reader for drkit's row decoder: python-mysql-replication's BinLogStreamReader streams
the same transactions from a sandbox primary, and every decoded value must agree with drkit's
(read from the archive through the index's offsets), for every column type."""

from __future__ import annotations

import datetime as dt
from contextlib import closing
from decimal import Decimal
from typing import Any

import pytest

from drkit.flashback.images import stream_images
from drkit.index.store import IndexStore
from tests.support.sandbox import Sandbox

pymysqlreplication = pytest.importorskip("pymysqlreplication")

TABLE = (
    "CREATE TABLE x.kinds ("
    " id INT PRIMARY KEY, tu TINYINT UNSIGNED, ts8 TINYINT, mi MEDIUMINT, mu MEDIUMINT UNSIGNED,"
    " i INT, iu INT UNSIGNED, bu BIGINT UNSIGNED, bs BIGINT,"
    " d1 DECIMAL(5,2), d2 DECIMAL(20,6), d3 DECIMAL(38,10), d4 DECIMAL(9,0), f FLOAT, g DOUBLE,"
    " dt0 DATETIME, dt6 DATETIME(6), tsp TIMESTAMP(3) NULL, tm0 TIME, tm2 TIME(2), dy DATE,"
    " yr YEAR, c CHAR(5), v VARCHAR(40) CHARACTER SET utf8mb4, l VARCHAR(40) CHARACTER SET latin1,"
    " tx TEXT, bl BLOB, vb VARBINARY(10), e ENUM('a','b','c'), st SET('x','y','z'), bt BIT(10),"
    " j JSON, gm GEOMETRY, gen BIGINT AS (i * 2) PERSISTENT, n INT NULL)"
)
ROWS = (
    "INSERT INTO x.kinds (id, tu, ts8, mi, mu, i, iu, bu, bs, d1, d2, d3, d4, f, g, dt0, dt6, tsp,"
    " tm0, tm2, dy, yr, c, v, l, tx, bl, vb, e, st, bt, j, gm, n) VALUES "
    "(1, 255, -128, -8388608, 16777215, -2147483648, 4294967295, 18446744073709551615,"
    " -9223372036854775808, -999.99, 12345678901234.123456, -1234567890123456789012345678.0123456789,"
    " 999999999, 1.5, -2.000000000000001, '2026-01-02 03:04:05', '1999-12-31 23:59:59.999999',"
    " '2026-06-07 08:09:10.123', '-838:59:59', '12:34:56.78', '2026-02-28', 2155, 'ab',"
    " 'héllo ☃', 'café', REPEAT('t', 300), X'00ff10', X'0001', 'c', 'x,z', b'1010101010',"
    " '{\"a\": [1, 2.5, null]}', ST_GeomFromText('POINT(1 2)'), 1),"
    "(2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '1000-01-01 00:00:00',"
    " '2038-01-19 03:14:07.5', NULL, '00:00:00', '-00:00:01.5', '1000-01-01', 1901, '', '', '',"
    " '', '', '', 'a', '', b'0', '[]', ST_GeomFromText('LINESTRING(0 0, 1 1)'), NULL),"
    "(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL, NULL, NULL)"
)


@pytest.fixture(scope="module")
def box(module_box: Sandbox) -> Sandbox:
    return module_box


def _drkit_rows(box: Sandbox) -> list[dict[str, Any]]:
    config = box.config()
    with IndexStore(config.index.path, readonly=True) as store:
        latest = store.latest()
        assert latest is not None
        offsets = store.row_events(latest.id)
    path = config.index.archive_dir / latest.file
    return [dict(image.row.after or {}) for image in stream_images(path, offsets)]


def _their_rows(box: Sandbox) -> list[dict[str, Any]]:
    from pymysqlreplication import BinLogStreamReader
    from pymysqlreplication.row_event import WriteRowsEvent

    state = box.state
    stream = BinLogStreamReader(
        connection_settings={
            "host": "127.0.0.1",
            "port": box.port("primary"),
            "user": state.admin.user,
            "password": state.admin.password,
        },
        server_id=4242,
        only_events=[WriteRowsEvent],
        only_tables=["kinds"],
        only_schemas=["x"],
        blocking=False,
        is_mariadb=True,
    )
    with closing(stream):
        return [dict(row["values"]) for event in stream for row in event.rows]


def _same(column: str, ours: Any, theirs: Any) -> bool:  # noqa: PLR0911
    """Equal once each reader's conventions are set aside (named per type below)."""
    if column == "st" and ours == "" and theirs is None:
        return True  # the empty SET: None there, '' (what SQL shows) here
    if ours is None or theirs is None:
        return ours is None and theirs is None
    if isinstance(theirs, set):  # SET: a Python set there, "a,c" here
        return set(ours.split(",")) - {""} == theirs
    if column == "bt":  # BIT: a string of bits there
        return int(theirs, 2) == ours if isinstance(theirs, str) else theirs == ours
    if isinstance(ours, dt.datetime) and ours.tzinfo is not None:  # TIMESTAMP: local naive there
        return ours.timestamp() == pytest.approx(theirs.timestamp())
    if isinstance(ours, bytes) and isinstance(theirs, str):
        return ours == theirs.encode("latin-1", "replace") or ours.decode("utf-8") == theirs
    if isinstance(theirs, bytes) and isinstance(ours, str):
        return ours.encode() == theirs
    if isinstance(ours, float):
        return ours == pytest.approx(theirs)
    if isinstance(ours, Decimal):
        return ours == Decimal(str(theirs))
    return bool(ours == theirs)


def test_every_value_agrees_with_python_mysql_replication(box: Sandbox) -> None:
    box.sql("primary", "CREATE DATABASE x", TABLE, ROWS)
    assert box.drkit("index").returncode == 0
    ours = _drkit_rows(box)
    theirs = _their_rows(box)
    assert len(ours) == len(theirs) == 3
    differences = [
        f"row {row['id']} {column}: drkit {value!r}, python-mysql-replication {other[column]!r}"
        for row, other in zip(ours, theirs, strict=True)
        for column, value in row.items()
        if column in other and not _same(column, value, other[column])
    ]
    assert not differences, "\n".join(differences)
    assert set(ours[0]) >= {c for c in theirs[0] if not c.startswith("UNKNOWN")}
