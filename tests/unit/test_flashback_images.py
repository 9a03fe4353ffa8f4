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
