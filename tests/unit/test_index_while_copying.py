"""One scan indexes all the copier wrote, even when the copier ends between two looks at the
archive: `drkit index` then needs no second scan (and no second writer process) for the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

from drkit.index.indexer import Indexer
from tests.unit.test_index_writer import FILES, FIXTURES, _config, _dump, _index


def test_a_copier_ending_after_the_archive_was_listed_still_has_its_last_files_indexed(
    tmp_path: Path,
) -> None:
    whole = _config(tmp_path / "whole", writer_process=False)
    expected = _index(whole)

    config = _config(tmp_path / "racing", writer_process=False)
    archive = config.index.archive_dir
    for name in FILES[1:]:
        (archive / name).unlink()
    indexer = Indexer(config)
    finished: list[bool] = []

    def copying() -> bool:
        # The copier runs until the scan has moved past the first file (its listing then holds
        # that file alone), and in that instant writes every other file and ends.
        checkpoint = indexer.store.checkpoint()
        if not finished and checkpoint is not None and checkpoint.file == FILES[1]:
            for name in FILES[1:]:
                shutil.copyfile(FIXTURES / name, archive / name)
            finished.append(True)
        return not finished

    try:
        count = indexer.scan(copying=copying)
    finally:
        indexer.close()
    assert finished, "the scan never moved past the first file while the copier ran"
    assert count == expected
    assert _dump(config.index.path) == _dump(whole.index.path)


def test_a_copier_ending_before_the_first_listing_still_has_its_files_indexed(
    tmp_path: Path,
) -> None:
    whole = _config(tmp_path / "whole", writer_process=False)
    expected = _index(whole)

    config = _config(tmp_path / "racing", writer_process=False)
    archive = config.index.archive_dir
    for name in FILES:
        (archive / name).unlink()
    copied: list[bool] = []

    def copying() -> bool:
        # Asked for the first time with the archive still empty: the copier writes everything
        # and ends right then.
        if not copied:
            for name in FILES:
                shutil.copyfile(FIXTURES / name, archive / name)
            copied.append(True)
        return False

    indexer = Indexer(config)
    try:
        count = indexer.scan(copying=copying)
    finally:
        indexer.close()
    assert count == expected
    assert _dump(config.index.path) == _dump(whole.index.path)
