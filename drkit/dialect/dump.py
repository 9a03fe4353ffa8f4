"""The dump pipeline of `drkit extract`, as argument lists and a line filter (pure).

It lives in the dialect because it writes SQL text (the renamed INSERTs) and flavour-specific tool
names; `drkit.io.extract` runs it and `drkit.extract.plan` prints it.

The table's definition is created by drkit itself (from SHOW CREATE TABLE, renamed when asked);
the server's dump tool sends only the rows. Its options keep the stream to INSERT statements:
no CREATE or DROP, no LOCK TABLES, no ALTER ... DISABLE KEYS, no triggers, no GTID state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from drkit.dialect.sql import quote_ident


def dump_arguments(tool: str, options_file: str, table: str, *, mariadb: bool) -> list[str]:
    """The dump tool's argv for the rows of one table, read in one consistent snapshot."""
    schema, _, name = table.partition(".")
    argv = [
        tool,
        # Client tools read --defaults-extra-file only as their first option.
        f"--defaults-extra-file={options_file}",
        "--single-transaction",
        "--no-create-info",
        "--skip-triggers",
        "--skip-add-locks",
        "--skip-disable-keys",
        "--no-tablespaces",
        "--hex-blob",
        "--default-character-set=utf8mb4",
    ]
    if not mariadb:
        argv.append("--set-gtid-purged=OFF")  # else the dump would try to set gtid_purged
    return [*argv, schema, name]


def client_arguments(tool: str, options_file: str, schema: str) -> list[str]:
    """The destination client's argv: the rows go into `schema`, binlogged like any write."""
    return [
        tool,
        f"--defaults-extra-file={options_file}",
        "--binary-mode",
        "--default-character-set=utf8mb4",
        schema,
    ]


def tool_names(mariadb: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Program names to look for: the dump tool, then the client, the flavour's own first."""
    if mariadb:
        return ("mariadb-dump", "mysqldump"), ("mariadb", "mysql")
    return ("mysqldump", "mariadb-dump"), ("mysql", "mariadb")


def pipeline_text(
    source: str, destination: str, source_table: str, target_table: str, *, mariadb: bool
) -> str:
    """The pipeline as the dry run prints it (option files named by node, not by path)."""
    dump_tools, clients = tool_names(mariadb)
    dump = dump_arguments(dump_tools[0], f"<{source}.cnf>", source_table, mariadb=mariadb)
    client = client_arguments(clients[0], f"<{destination}.cnf>", target_table.partition(".")[0])
    text = f"{' '.join(dump)} | {' '.join(client)}"
    source_name = source_table.partition(".")[2]
    target_name = target_table.partition(".")[2]
    if source_name != target_name:
        text += f" (INSERT INTO {quote_ident(source_name)} becomes {quote_ident(target_name)})"
    return text


class UnexpectedDump(ValueError):
    """The dump held a statement the pipeline never asked for: nothing after it is sent."""


def rename_inserts(lines: Iterable[bytes], source_name: str, target_name: str) -> Iterator[bytes]:
    """Pass the dump through, INSERTs renamed to `target_name`; refuse any other statement kind.

    Dump tools escape newlines inside values, so a line that starts with `INSERT INTO` is always
    the start of a statement, never text inside a value. Row lines of a multi-line INSERT start
    with `(`.
    """
    wanted = b"INSERT INTO " + quote_ident(source_name).encode() + b" "
    renamed = b"INSERT INTO " + quote_ident(target_name).encode() + b" "
    for line in lines:
        if line.startswith(wanted):
            yield renamed + line[len(wanted) :]
            continue
        if line.startswith(_FORBIDDEN):
            shown = line[:60].decode("utf-8", "replace").rstrip()
            raise UnexpectedDump(f"the dump holds an unexpected statement: {shown!r}")
        yield line


_FORBIDDEN = (
    b"INSERT INTO ",
    b"CREATE ",
    b"DROP ",
    b"ALTER ",
    b"LOCK TABLES",
    b"RENAME ",
    b"TRUNCATE ",
)
