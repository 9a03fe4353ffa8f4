"""Text decoded from row images against a live throwaway MariaDB: every collation id the server
knows, all 256 bytes of every single-byte character set, ENUM/SET labels in their column's
character set, and string columns after a GEOMETRY column. The oracle is the server's own
CONVERT(column USING utf8mb4) of the same rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drkit.binlog import decode_rows, scan_file
from drkit.binlog.charsets import charset_of
from drkit.binlog.collations import BYTE_TABLES, COLLATIONS
from tests.support.throwaway_server import ThrowawayServer, throwaway_server

pytestmark = [pytest.mark.integration]

# Each character set gets what of this it can hold (the server turns the rest into '?').
CANDIDATE = "Aé日😀ßжΩש"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayServer]:
    with throwaway_server(tmp_path_factory.mktemp("charset-server")) as running:
        running.sql("CREATE DATABASE cs")
        yield running


def _new_rows(server: ThrowawayServer, sql: str) -> list[dict[str, object]]:
    """Run `sql` in a fresh binlog file; the after images of the rows it wrote, in order."""
    server.sql("FLUSH BINARY LOGS")
    # Unrepresentable characters become '?' rather than an error.
    server.sql(f"SET NAMES utf8mb4; SET SESSION sql_mode = ''; {sql}", "cs")
    current = server.binlog_files()[-1]
    images = []
    for transaction in scan_file(current):
        images += [dict(i.after or {}) for i in decode_rows(current, transaction.row_events)]
    return images


def _server_text(server: ThrowawayServer, table: str, columns: list[str]) -> list[str]:
    """The server's UTF-8 reading of each column of the table's only row."""
    hexes = ", ".join(f"HEX(CONVERT(`{c}` USING utf8mb4))" for c in columns)
    (row,) = server.rows(f"SELECT {hexes} FROM `{table}`", "cs")
    return [bytes.fromhex(value).decode("utf-8") for value in row]


def test_the_collation_table_is_the_servers_own_list(server: ThrowawayServer) -> None:
    listed = server.rows(
        "SELECT ID, FULL_COLLATION_NAME, CHARACTER_SET_NAME "
        "FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY"
    )
    assert {int(i): (name, charset) for i, name, charset in listed} == COLLATIONS


def test_every_collation_id_decodes_as_the_server_reads_it(server: ThrowawayServer) -> None:
    by_charset: dict[str, list[tuple[int, str]]] = {}
    for collation_id, (name, charset) in sorted(COLLATIONS.items()):
        if charset != "binary":
            by_charset.setdefault(charset, []).append((collation_id, name))
    checked = 0
    for charset, collations in sorted(by_charset.items()):
        table = f"t_{charset}"
        columns = [f"c{collation_id}" for collation_id, _name in collations]
        definitions = ", ".join(
            f"c{collation_id} VARCHAR(8) CHARACTER SET {charset} COLLATE {name}"
            for collation_id, name in collations
        )
        server.sql(f"CREATE TABLE {table} ({definitions}) ENGINE=InnoDB", "cs")
        values = ", ".join(f"CONVERT(_utf8mb4'{CANDIDATE}' USING {charset})" for _ in columns)
        (image,) = _new_rows(server, f"INSERT INTO {table} VALUES ({values})")
        expected = _server_text(server, table, columns)
        decoded = [image[column] for column in columns]
        assert decoded == expected, charset
        assert all(charset_of(collation_id) == charset for collation_id, _name in collations)
        checked += len(collations)
    assert checked == len(COLLATIONS) - 1  # all but `binary`


def test_every_byte_of_single_byte_charsets_reads_as_on_the_server(
    server: ThrowawayServer,
) -> None:
    charsets = sorted(BYTE_TABLES)
    columns = [f"c_{charset}" for charset in charsets]
    definitions = ", ".join(
        f"c_{charset} VARCHAR(300) CHARACTER SET {charset}" for charset in charsets
    )
    server.sql(f"CREATE TABLE every_byte ({definitions}) ENGINE=InnoDB", "cs")
    raw = bytes(range(1, 256)).hex()
    values = ", ".join(f"UNHEX('{raw}')" for _ in charsets)
    (image,) = _new_rows(server, f"INSERT INTO every_byte VALUES ({values})")
    for column, expected in zip(columns, _server_text(server, "every_byte", columns), strict=True):
        decoded = image[column]
        assert isinstance(decoded, str)
        assert len(decoded) == len(expected) == 255, column
        # A byte the character set does not define is '?' on the server, U+FFFD here.
        mismatched = [
            (byte, ours, theirs)
            for byte, ours, theirs in zip(range(1, 256), decoded, expected, strict=True)
            if ours != theirs and not (ours == "\ufffd" and theirs == "?")
        ]
        assert mismatched == [], column


def test_latin1_keeps_the_five_bytes_cp1252_leaves_undefined(server: ThrowawayServer) -> None:
    server.sql("CREATE TABLE l1 (id INT PRIMARY KEY, s VARCHAR(20) CHARACTER SET latin1)", "cs")
    (image,) = _new_rows(server, "INSERT INTO l1 VALUES (1, UNHEX('818D8F909D80'))")
    assert image["s"] == "\x81\x8d\x8f\x90\x9d€"
    assert _server_text(server, "l1", ["s"]) == [image["s"]]


def test_strings_after_a_geometry_column_keep_their_charset(server: ThrowawayServer) -> None:
    server.sql(
        "CREATE TABLE r1 (id INT PRIMARY KEY, g GEOMETRY, s VARCHAR(10) CHARACTER SET utf8mb4, "
        "l VARCHAR(10) CHARACTER SET latin1, u VARCHAR(10) CHARACTER SET utf8mb4)",
        "cs",
    )
    (image,) = _new_rows(server, "INSERT INTO r1 VALUES (1, POINT(0,0), 'é', 'café0', '日本😀0')")
    assert (image["s"], image["l"], image["u"]) == ("é", "café0", "日本😀0")
    assert isinstance(image["g"], bytes)


@pytest.mark.parametrize(
    ("charset", "labels", "chosen"),
    [
        ("latin1", ("é", "ß"), "ß"),
        ("cp1251", ("ж", "я"), "я"),
        ("sjis", ("日", "本"), "本"),
        ("ucs2", ("é", "ß"), "ß"),
        ("utf16", ("é", "😀"), "😀"),
        ("utf8mb4", ("é", "😀"), "😀"),
    ],
)
def test_enum_and_set_labels_are_read_in_their_columns_charset(
    server: ThrowawayServer, charset: str, labels: tuple[str, str], chosen: str
) -> None:
    table = f"e_{charset}"
    members = ", ".join(f"'{label}'" for label in labels)
    server.sql(
        f"SET NAMES utf8mb4; CREATE TABLE {table} (id INT PRIMARY KEY, e ENUM({members}) CHARACTER SET {charset}, "
        f"s SET({members}) CHARACTER SET {charset})",
        "cs",
    )
    (image,) = _new_rows(
        server, f"INSERT INTO {table} VALUES (1, '{chosen}', '{labels[0]},{labels[1]}')"
    )
    assert image["e"] == chosen
    assert image["s"] == ",".join(labels)
