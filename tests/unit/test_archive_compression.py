"""Compressed archive files (zstd, seekable format) read back byte for byte at their offsets."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from pathlib import Path

import pytest

from drkit import compression
from drkit.binlog import scan_file
from drkit.binlog.files import map_file
from drkit.binlog.rows import decode_rows
from drkit.io.archive import archived_files

FIXTURES = Path(__file__).parents[1] / "fixtures" / "binlog"


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    folder = tmp_path / "binlogs"
    folder.mkdir()
    for path in sorted(FIXTURES.glob("bin.00000*")):
        shutil.copy(path, folder / path.name)
    return folder


def test_compressed_file_reads_the_same_bytes_and_transactions(archive: Path) -> None:
    path = archive / "bin.000001"
    original = path.read_bytes()
    before = [(t.gtid, t.start_pos, t.end_pos, t.tables) for t in scan_file(path)]
    # Small frames, so a file of a few kB spans many of them.
    size_in, size_out = compression.compress_file(path, frame_size=1024)
    assert not path.exists()
    assert (archive / "bin.000001.zst").stat().st_size == size_out < size_in == len(original)
    with map_file(path) as buf:
        assert hashlib.sha256(buf).digest() == hashlib.sha256(original).digest()
    assert [(t.gtid, t.start_pos, t.end_pos, t.tables) for t in scan_file(path)] == before
    assert compression.binlog_size(path) == len(original)
    # A scan resumed mid-file reads only the frames from there on, and the same transactions.
    middle = before[len(before) // 2]
    resumed = [(t.gtid, t.start_pos, t.end_pos, t.tables) for t in scan_file(path, middle[1])]
    assert resumed == before[len(before) // 2 :]


def test_spans_decompress_only_their_frames(archive: Path) -> None:
    path = archive / "bin.000002"
    original = path.read_bytes()
    transactions = [t for t in scan_file(path) if t.row_events]
    target = transactions[-1]
    rows_plain = decode_rows(path, target.row_events)
    compression.compress_file(path, frame_size=512)
    assert decode_rows(path, target.row_events) == rows_plain
    start, end = target.row_events[0][0], target.row_events[-1][1]
    with map_file(path, target.row_events) as buf:
        assert bytes(buf[start:end]) == original[start:end]
        assert bytes(buf[:512]) == original[:512]  # the format description's frame
        # The frames neither asked for nor the first stay unread (zero) in the mapping.
        assert start >= 1536
        assert original[1024:1536] != bytes(512)
        assert bytes(buf[1024:1536]) == bytes(512)


def test_archived_files_lists_a_compressed_file_by_its_binlog_name(archive: Path) -> None:
    compression.compress_file(archive / "bin.000002")
    assert [p.name for p in archived_files(archive)] == ["bin.000001", "bin.000002", "bin.000003"]
    assert compression.stored_path(archive / "bin.000002").name == "bin.000002.zst"
    assert compression.stored_path(archive / "bin.000001").name == "bin.000001"


def test_stream_is_the_original_and_zstd_tool_reads_the_file(archive: Path) -> None:
    path = archive / "bin.000003"
    original = path.read_bytes()
    compression.compress_file(path, frame_size=2048)
    out = io.BytesIO()
    compression.stream_binlog(archive / "bin.000003.zst", out)
    assert out.getvalue() == original
    zstd = shutil.which("zstd")
    if zstd is not None:  # the seek table is a skippable frame: the zstd tool skips it
        done = subprocess.run(
            [zstd, "-dc", str(archive / "bin.000003.zst")], capture_output=True, check=True
        )
        assert done.stdout == original


def test_a_cut_short_file_is_named_as_damaged(archive: Path) -> None:
    path = archive / "bin.000001"
    compression.compress_file(path)
    packed = archive / "bin.000001.zst"
    packed.write_bytes(packed.read_bytes()[:-5])
    with pytest.raises(compression.CompressedFileError, match="no zstd seek table"), map_file(path):
        pass


def test_a_changed_frame_is_caught(archive: Path) -> None:
    path = archive / "bin.000001"
    compression.compress_file(path, frame_size=1024)
    packed = archive / "bin.000001.zst"
    data = bytearray(packed.read_bytes())
    data[40] ^= 0xFF  # inside the first frame's compressed bytes
    packed.write_bytes(bytes(data))
    with (
        pytest.raises(compression.CompressedFileError, match="cannot be decompressed"),
        map_file(path),
    ):
        pass


def test_replay_runs_the_tool_once_per_file_and_a_compressed_one_from_stdin(
    tmp_path: Path,
) -> None:
    from drkit.io.replay import replay_command

    load = tmp_path / "load"
    commands = replay_command(["/dev/fd/5", "-", "/dev/fd/7"], 3829, 500, True, load)
    assert [argv[1:] for argv in commands] == [
        [f"--local-load={load}", "--start-position=3829", "/dev/fd/5"],
        [f"--local-load={load}", "-"],
        [f"--local-load={load}", "--stop-position=500", "/dev/fd/7"],
    ]
