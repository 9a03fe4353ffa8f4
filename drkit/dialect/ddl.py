"""Rewriting a table definition the server printed, so it creates a table elsewhere (pure).

`SHOW CREATE TABLE` names the table without its schema; extracting a rescued table into the
primary, possibly under another name, needs that head rewritten, and nothing else touched.
"""

from __future__ import annotations

import re

from drkit.dialect.sql import quote_ident, quote_table

_IDENT = r"(?:`(?:[^`]|``)+`|[A-Za-z0-9_$]+)"
# A named foreign key on its own line: `  CONSTRAINT `name` FOREIGN KEY (...)`.
_NAMED_FOREIGN_KEY = re.compile(rf"(?m)^(\s*)CONSTRAINT\s+{_IDENT}\s+(FOREIGN KEY\b)")
# A reference to a table of the same schema: `REFERENCES `parent` (` (no schema before it).
_LOCAL_REFERENCE = re.compile(rf"(REFERENCES\s+)({_IDENT})(\s*\()")


def retarget_create_table(
    definition: str, source: str, target: str, *, drop_foreign_key_names: bool
) -> str:
    """`definition` (the source's SHOW CREATE TABLE text) creating `target` (schema.table).

    Foreign-key names are unique per schema, so a copy beside the original drops them and lets
    the server name its own. References to tables of the source schema stay pointed there.
    ValueError when the text is not a CREATE TABLE of `source`.
    """
    source_schema, _, source_name = source.partition(".")
    target_schema, _, _ = target.partition(".")
    body = None
    for head in (f"CREATE TABLE {quote_ident(source_name)} ", f"CREATE TABLE {source_name} "):
        if definition.startswith(head):
            body = definition[len(head) :]
            break
    if body is None or not body.lstrip().startswith("("):
        raise ValueError(f"not a CREATE TABLE of {source}: {definition[:80]!r}")
    if drop_foreign_key_names:
        body = _NAMED_FOREIGN_KEY.sub(r"\1\2", body)
    if target_schema != source_schema:
        qualified = quote_ident(source_schema)
        body = _LOCAL_REFERENCE.sub(lambda m: f"{m[1]}{qualified}.{m[2]}{m[3]}", body)
    return f"CREATE TABLE {quote_table(target)} {body}"
