"""Numbers and times out of range are a usage error (exit 2) in one sentence, for every command,
never an internal error: the values are refused where options are parsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from drkit.cli import main


def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run the CLI in-process on a config that does not exist; its exit code and stderr."""
    with pytest.raises(SystemExit) as ended:
        main(["--config", str(tmp_path / "drkit.toml"), *args])
    captured = capsys.readouterr()
    assert captured.out == ""
    return int(ended.value.code or 0), captured.err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["events", "--limit", "99999999999999999999999"], "Invalid value for '--limit'"),
        (["events", "--limit", "0"], "Invalid value for '--limit'"),
        (["events", "--limit", "-5"], "Invalid value for '--limit'"),
        (["events", "--limit", "1000000001"], "1<=x<=1000000000"),
        (["events", "--since", "-99999999999h"], "time out of range: '-99999999999h'"),
        (["events", "--until", "-" + "9" * 400 + "d"], "time out of range: '-99999"),
        (["events", "--since", "0001-01-01T00:00:00+01:00"], "time out of range"),
        (["events", "--until", "9999-12-31T23:59:59-14:00"], "time out of range"),
        (["events", "--since", "-5000000w"], "time out of range"),
        (["events", "--since", "yesterday"], "not a time: 'yesterday'"),
        (["status", "--timeout", "-1"], "Invalid value for '--timeout'"),
        (["status", "--timeout", "0"], "Invalid value for '--timeout'"),
        (["status", "--timeout", "nan"], "'nan' is not a finite number"),
        (["status", "--timeout", "inf"], "Invalid value for '--timeout'"),
        (["status", "--timeout", "1e300"], "Invalid value for '--timeout'"),
        (["tui", "--refresh", "nan"], "'nan' is not a finite number"),
        (["tui", "--refresh", "-1"], "Invalid value for '--refresh'"),
        (["tui", "--timeout", "-inf"], "Invalid value for '--timeout'"),
        (["guard", "--poll", "nan"], "'nan' is not a finite number"),
        (["guard", "--poll", "-1"], "Invalid value for '--poll'"),
        (["sandbox", "up", "--delay", "-1"], "Invalid value for '--delay'"),
        (["sandbox", "up", "--delay", "99999999999"], "0<=x<=2147483647"),
    ],
)
def test_out_of_range_is_one_sentence_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
    said: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = run(capsys, tmp_path, *args)
    assert code == 2, err
    lines = err.splitlines()
    assert lines[0].startswith("drkit: ") and said in lines[0], err
    assert all(line.startswith("hint: ") for line in lines[1:]), err
    assert "internal error" not in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # refused before anything was done
