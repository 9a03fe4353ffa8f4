"""The dump pipeline's argument lists and line filter, kept importable here; they live in the dialect."""

from __future__ import annotations

from drkit.dialect.dump import (
    UnexpectedDump,
    client_arguments,
    dump_arguments,
    pipeline_text,
    rename_inserts,
    tool_names,
)

__all__ = [
    "UnexpectedDump",
    "client_arguments",
    "dump_arguments",
    "pipeline_text",
    "rename_inserts",
    "tool_names",
]
