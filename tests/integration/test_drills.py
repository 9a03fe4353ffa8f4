"""Every shipped drill passes on a fresh sandbox with RPO 0; failures say which check and why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.sandbox import Sandbox, start_sandbox
from tests.support.workload import create_shop, fingerprint

ROOT = Path(__file__).resolve().parents[2]
DRILLS = sorted((ROOT / "playbooks" / "drills").glob("*.yaml"))
DRILL_LIMIT = 600.0  # seconds one `drkit drill run` may take

# pytest's own limit (300 s in pyproject.toml) would kill a drill before the drill's limit fires,
# leaving no report and a sandbox behind: give these tests the drill's limit and a margin.
pytestmark = pytest.mark.timeout(DRILL_LIMIT + 60)


def drkit(
    *args: str, cwd: Path | None = None, tmpdir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DRKIT_DEBUG", "DRKIT_CONFIG")}
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    return subprocess.run(
        [sys.executable, "-m", "drkit", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or ROOT,
        timeout=DRILL_LIMIT,
        check=False,
    )


@pytest.mark.parametrize("playbook", DRILLS, ids=[p.stem for p in DRILLS])
def test_shipped_drill_passes_with_rpo_zero(playbook: Path, tmp_path: Path) -> None:
    report_dir = tmp_path / "report"
    # A short TMPDIR of its own (sockets live there when paths run long): it must stay empty.
    scratch = Path(tempfile.mkdtemp(prefix="dd-", dir="/tmp"))
    # By name, as `drkit drill list` shows them; nothing is left in the temporary folder.
    done = drkit(
        "drill", "run", playbook.stem, "--report", str(report_dir), "--json", tmpdir=scratch
    )
    report = json.loads((report_dir / "report.json").read_text())
    left = list(scratch.iterdir())
    shutil.rmtree(scratch, ignore_errors=True)
    assert left == [], "the drill left files behind"
    failed = [s for s in report["steps"] if not s["ok"]]
    assert done.returncode == 0, f"{done.stderr[-2000:]}\nfailed steps: {failed}"
    assert json.loads(done.stdout)["passed"] is True
    assert report["passed"] is True
    metrics = report["metrics"]
    assert metrics["verifications"] >= 1 and metrics["verifications_failed"] == 0
    assert all(step["ok"] for step in report["steps"])
    markdown = (report_dir / "report.md").read_text()
    assert "PASSED" in markdown
    if any(step["kind"] == "disaster" for step in report["steps"]):
        assert metrics["rpo"] == 0
        assert metrics["time_to_detect"] is not None and metrics["rto"] is not None
        assert "**time to recover (RTO)**: until the end of the last recovery step" in markdown
    else:  # historic inspection: each moment asked back, timed and matched
        answers = metrics["answers"]
        assert {a["how"] for a in answers} == {"inspect", "asof"}
        assert all(a["matched"] and a["seconds"] > 0 for a in answers), answers
        assert "| moment | table | how | answered in | matched |" in markdown
    junit = (report_dir / "junit.xml").read_text()
    assert 'failures="0"' in junit and f'name="drill.{report["playbook"]}"' in junit


def test_a_verification_that_cannot_match_fails_the_drill_and_says_why(tmp_path: Path) -> None:
    text = (ROOT / "playbooks/drills/update-without-where.yaml").read_text()
    wrong = text.replace(
        "  - verify: {snapshot: before, node: delayed}",
        "  - verify: {snapshot: before, node: delayed}\n"
        '  - verify: {title: wrong count, sql: "SELECT COUNT(*) FROM shop.orders", node: delayed, expect: 12345}',
    )
    assert wrong != text
    book = tmp_path / "wrong.yaml"
    book.write_text(wrong)
    report_dir = tmp_path / "report"
    done = drkit("drill", "run", str(book), "--report", str(report_dir))
    assert done.returncode == 1
    report = json.loads((report_dir / "report.json").read_text())
    assert report["passed"] is False
    failed = [s for s in report["steps"] if not s["ok"] and not s["skipped"]]
    assert len(failed) == 1 and failed[0]["title"] == "wrong count"
    assert "returned 700, expected 12345" in failed[0]["error"]
    assert failed[0]["line"] == 15
    markdown = (report_dir / "report.md").read_text()
    assert "FAILED" in markdown and "returned 700, expected 12345" in markdown
    assert "<failure" in (report_dir / "junit.xml").read_text()
    assert "wrong count" in done.stdout


def test_malformed_playbook_reports_the_line(tmp_path: Path) -> None:
    book = tmp_path / "bad.yaml"
    book.write_text("name: bad\nsteps:\n  - sandbox: {}\n  - meteor: {size: big}\n")
    done = drkit("drill", "run", str(book))
    assert done.returncode == 2
    assert f"{book}:4: unknown step kind 'meteor'" in done.stderr


def test_destructive_steps_on_a_configured_topology_are_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    box = start_sandbox(tmp_path / "real", delay=3600)
    scratch = Path(tempfile.mkdtemp(prefix="dd-", dir="/tmp"))
    try:
        done = drkit(
            "--config",
            str(box.config_file),
            "drill",
            "run",
            str(ROOT / "playbooks/drills/drop-table.yaml"),
            "--yes",
            tmpdir=scratch,
        )
        assert done.returncode == 3
        assert "damages data" in done.stderr and "--allow-destructive real" in done.stderr
        # A refused drill leaves no work folder behind either.
        assert list(scratch.iterdir()) == []
        # Nothing ran: the workload step would have created the shop schema.
        assert (
            box.value(
                "primary",
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='shop'",
            )
            == 0
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        box.down(purge=True)


def test_runbook_rescues_a_dropped_table_on_a_configured_topology(tmp_path: Path) -> None:
    box: Sandbox = start_sandbox(tmp_path / "incident", delay=3600)
    try:
        create_shop(box, orders=250)
        before = fingerprint(box, "primary", "shop.orders")
        box.sql("primary", "DROP TABLE shop.orders", app=True)
        report_dir = tmp_path / "report"
        done = drkit(
            "--config",
            str(box.config_file),
            "drill",
            "run",
            str(ROOT / "playbooks/runbooks/drop-table.yaml"),
            "--report",
            str(report_dir),
            "--yes",
        )
        assert done.returncode == 0, done.stderr[-2000:]
        # PASS means the incident is over: the table is back under its own name, as it was.
        assert fingerprint(box, "primary", "shop.orders") == before
        tables = box.sql("primary", "SHOW TABLES FROM shop LIKE 'orders%'")
        assert [next(iter(row.values())) for row in tables] == ["orders"]
        assert box.replica_status("delayed")["SQL_Delay"] == 3600, "the runbook resumes the delay"
    finally:
        box.down(purge=True)
