"""Drill reports: report.json for machines, report.md for people, junit.xml for CI systems."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from drkit.drill.results import DrillReport


def write_reports(report: DrillReport, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "report.json", directory / "report.md", directory / "junit.xml"]
    paths[0].write_text(
        json.dumps(report.to_json(), indent=2, default=str) + "\n", encoding="utf-8"
    )
    paths[1].write_text(markdown(report), encoding="utf-8")
    paths[2].write_text(junit(report), encoding="utf-8")
    return paths


# What each figure covers, printed in every report so that it reads on its own.
DEFINITIONS = (
    "What the figures cover (clocks start when the `disaster` step's statement returns):",
    "",
    "- **time to detect**: until the `detect` step found the destructive transaction in drkit's "
    "binlog index (indexing included).",
    "- **time to freeze**: until the delayed replica's applier was reported stopped (`freeze`).",
    "- **time to recover (RTO)**: until the end of the last recovery step (`recover`, `extract` "
    "or `promote`): the data is back where the application reads it. Not included: the drill's "
    "own bookkeeping (snapshots, counting transactions) and simulated failures (`kill`).",
    "- **transactions lost (RPO)**: transactions committed before the disaster that the recovered "
    "copy lacks, leaving out those skipped on purpose; anything but 0 fails the drill.",
    "- **verifications**: `verify` steps whose rows and checksums matched the snapshot or value.",
)


def _answers(answers: list[dict[str, object]]) -> list[str]:
    """The historic-inspection answers: each moment asked back, how, how long, matched."""
    lines = [
        "",
        "Moments asked back (`inspect` rolls the delayed replica forward to T; `asof` rewinds "
        "a table from its rows with the archive's row images):",
        "",
        "| moment | table | how | answered in | matched |",
        "|---|---|---|---|---|",
    ]
    for a in answers:
        lines.append(
            f"| {a['moment']} | {a['table']} | {a['how']} | {float(str(a['seconds'])):.2f} s | "
            f"{'yes' if a['matched'] else 'NO'} |"
        )
    lines.append("")
    return lines


def markdown(report: DrillReport) -> str:
    m = report.metrics
    verdict = "PASSED" if report.passed else "FAILED"
    lines = [
        f"# Drill {report.playbook}: {verdict}",
        "",
        report.description.strip(),
        "",
        f"- playbook: `{report.path}`",
        f"- topology: {report.topology}",
        f"- duration: {report.seconds:.1f} s",
        "",
        "| measure | value |",
        "|---|---|",
        f"| time to detect | {_seconds(m.time_to_detect)} |",
        f"| time to freeze | {_seconds(m.time_to_freeze)} |",
        f"| time to recover (RTO) | {_seconds(m.rto)} |",
        f"| transactions lost (RPO) | {'-' if m.rpo is None else m.rpo} |",
        f"| verifications | {m.verifications - m.verifications_failed}/{m.verifications} matched |",
        *(_answers(m.answers) if m.answers else []),
        "",
        *DEFINITIONS,
        "",
        "| # | step | line | result | seconds | detail |",
        "|---|---|---|---|---|---|",
    ]
    for step in report.steps:
        result = "skipped" if step.skipped else ("ok" if step.ok else "FAILED")
        detail = (step.error or step.detail).replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {step.number} | {step.title} | {step.line} | {result} | {step.seconds:.2f} | {detail} |"
        )
    if report.error:
        lines += ["", f"Error: {report.error}"]
    failed = [s for s in report.steps if not s.ok and not s.skipped]
    if failed:
        lines += ["", "## What failed", ""]
        lines += [f"- step {s.number} ({s.title}, line {s.line}): {s.error}" for s in failed]
    if m.rpo not in (None, 0):
        lines += ["", f"RPO is {m.rpo}: transactions that should have survived are missing."]
    return "\n".join(lines) + "\n"


def junit(report: DrillReport) -> str:
    suite = ET.Element(
        "testsuite",
        name=f"drill.{report.playbook}",
        tests=str(len(report.steps) + 1),
        failures=str(
            sum(1 for s in report.steps if not s.ok and not s.skipped)
            + (0 if _rpo_ok(report) else 1)
        ),
        skipped=str(sum(1 for s in report.steps if s.skipped)),
        time=f"{report.seconds:.3f}",
    )
    for step in report.steps:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"drill.{report.playbook}",
            name=f"{step.number:02d} {step.title}",
            time=f"{step.seconds:.3f}",
        )
        if step.skipped:
            ET.SubElement(case, "skipped", message=step.detail)
        elif not step.ok:
            failure = ET.SubElement(case, "failure", message=(step.error or "failed")[:500])
            failure.text = f"{report.path}:{step.line}: {step.error}"
        else:
            out = ET.SubElement(case, "system-out")
            out.text = step.detail
    rpo = ET.SubElement(
        suite, "testcase", classname=f"drill.{report.playbook}", name="RPO is 0", time="0"
    )
    if not _rpo_ok(report):
        ET.SubElement(rpo, "failure", message=f"{report.metrics.rpo} transactions lost")
    return ET.tostring(suite, encoding="unicode") + "\n"


def _rpo_ok(report: DrillReport) -> bool:
    return report.metrics.rpo in (None, 0)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"
