"""Row images streamed one event at a time equal the binlog decoder's, in either direction."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.binlog import decode_rows, scan_file
from drkit.flashback.images import stream_images, table_columns

FIXTURES = Path(__file__).parents[1] / "fixtures" / "binlog"


def _transactions() -> list[tuple[Path, tuple[tuple[int, int], ...]]]:
    found = []
    for path in sorted(FIXTURES.glob("bin.0*")):
        found += [(path, t.row_events) for t in scan_file(path) if t.row_events]
    return found


@pytest.mark.parametrize(("path", "offsets"), _transactions())
def test_streamed_images_equal_the_decoder_forward_and_newest_first(
    path: Path, offsets: tuple[tuple[int, int], ...]
) -> None:
    expected = decode_rows(path, offsets)
    forward = [image.row for image in stream_images(path, offsets)]
    backward = [image.row for image in stream_images(path, offsets, newest_first=True)]
    assert forward == expected
    assert backward == expected[::-1]
    for image in stream_images(path, offsets):
        name = f"{image.row.schema}.{image.row.table}"
        assert image.columns == table_columns(path, offsets)[name]
        assert image.full


def test_key_values_read_only_the_keys_and_equal_the_decoded_images() -> None:
    from drkit.binlog.files import map_file
    from drkit.flashback.images import format_of, key_values

    checked = 0
    for path, offsets in _transactions():
        rows = decode_rows(path, offsets)
        with map_file(path) as buf:
            fmt = format_of(buf)
            for schema, table in {(row.schema, row.table) for row in rows}:
                expected = [
                    (row.primary_key, tuple(image[c] for c in row.primary_key))
                    for row in rows
                    if (row.schema, row.table) == (schema, table)
                    for image in (row.before, row.after)
                    if image is not None
                ]
                if not expected[0][0]:
                    expected = [((), ())]  # no primary key: said once, nothing more
                found = list(key_values(buf, fmt, offsets, schema, table, {}))
                assert found == expected, (path.name, schema, table)
                checked += len(found)
    assert checked > 10
