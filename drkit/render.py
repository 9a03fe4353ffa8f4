"""Plain-text tables, durations, sizes and counted nouns for human output (pure)."""

from __future__ import annotations

from collections.abc import Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A left-aligned text table; None renders as '-'."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        for index, value in enumerate(row):
            widths[index] = max(widths[index], len(value))
    lines = [
        "  ".join(header.upper().ljust(widths[i]) for i, header in enumerate(headers)).rstrip()
    ]
    for row in cells:
        lines.append("  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip())
    return "\n".join(lines)


def duration(seconds: float | None) -> str:
    """`3600` -> `1h00m00s`, `75` -> `1m15s`, `4.2` -> `4.2s`."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds != int(seconds) else f"{int(seconds)}s"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes}m{secs:02d}s"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`1, "row"` -> `1 row`, `2, "row"` -> `2 rows` (`plural` for irregular nouns)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def size(count: int) -> str:
    """`1304` -> `1.3 KiB`, `52428800` -> `50.0 MiB`; under a KiB in bytes."""
    if count < 1024:
        return f"{count} B"
    value = float(count)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}"
    return f"{count} B"


def csv_blocks(blocks: Sequence[tuple[Sequence[str], Sequence[Sequence[object]]]]) -> str:
    """Result sets as CSV, a header row each, blocks separated by an empty line."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for index, (columns, rows) in enumerate(blocks):
        if index:
            buffer.write("\n")
        writer.writerow(columns)
        writer.writerows(rows)
    return buffer.getvalue().rstrip("\n")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
