"""`drkit drill run|check|list`: rehearse a recovery from a playbook and prove it with numbers."""

from __future__ import annotations

import shutil
import tempfile
import textwrap
import time
from pathlib import Path

import click
import click.shell_completion

from drkit.cli.common import confirm, emit_json, json_option, out, say
from drkit.errors import ExitCode

PLAYBOOK_DIRS = ("playbooks/drills", "playbooks/runbooks")


@click.group()
def drill() -> None:
    """Recovery drills and runbooks from YAML playbooks."""


def _complete_playbooks(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[click.shell_completion.CompletionItem]:
    """Shell completion: the shipped playbooks' names (files complete as files)."""
    from click.shell_completion import CompletionItem

    names = sorted({p.stem for p in shipped_playbooks()})
    return [CompletionItem(n) for n in names if n.startswith(incomplete)] + [
        CompletionItem(incomplete, type="file")
    ]


@drill.command(name="run")
@click.argument(
    "playbook",
    type=click.Path(dir_okay=False, path_type=Path),
    shell_complete=_complete_playbooks,
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write report.json, report.md and junit.xml here (default: reports/NAME-TIME).",
)
@click.option("--keep", is_flag=True, help="Leave the drill's sandbox running afterwards.")
@click.option(
    "--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a playbook parameter."
)
@click.option(
    "--allow-destructive",
    metavar="NAME",
    help="Allow disaster/kill steps on the configured topology with this name.",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask before changing a configured topology.")
@json_option
@click.pass_context
def run(
    click_ctx: click.Context,
    playbook: Path,
    report_dir: Path | None,
    keep: bool,
    params: tuple[str, ...],
    allow_destructive: str | None,
    yes: bool,
    as_json: bool,
) -> int:
    """Run PLAYBOOK on a fresh sandbox (or, with --config, on the configured topology).

    PLAYBOOK is a file, or the name of a shipped drill or runbook (`drkit drill list`).

    \b
    Examples:
      drkit drill run drop-table
      drkit drill run playbooks/drills/primary-lost.yaml --param strategy=archive --keep
      drkit --config /etc/drkit/drkit.toml drill run drop-table-runbook --param table=shop.orders
    """
    from drkit import config as config_module
    from drkit.drill.playbook import load_playbook
    from drkit.drill.reports import write_reports
    from drkit.drill.runner import DrillRunner, RunOptions

    overrides = _overrides(params)
    book = load_playbook(find_playbook(playbook), overrides)
    # Only an explicit --config points a drill at a real topology; $DRKIT_CONFIG never does.
    root = click_ctx.find_root()
    explicit = root.get_parameter_source("config_path") is click.core.ParameterSource.COMMANDLINE
    config = config_module.load(root.params["config_path"]) if explicit else None
    stamp = time.strftime("%Y%m%dT%H%M%S")
    directory = report_dir or Path("reports") / f"{book.name}-{stamp}"
    work = Path(tempfile.mkdtemp(prefix=f"drkit-drill-{book.name}-"))
    started = False
    try:
        runner = DrillRunner(book, RunOptions(work, config, keep, allow_destructive), report=say)
        runner.preflight()
        if config is not None and runner.changing_steps():
            listed = ", ".join(f"{s.kind} (line {s.line})" for s in runner.changing_steps())
            confirm(
                f"Run {book.name} on {config.topology_name}? It changes servers: {listed}.",
                yes=yes,
            )
        say(f"drill {book.name}: {first_paragraph(book.description)}")
        started = True
        report = runner.run()
    finally:
        if not keep or not started:
            # The sandbox was purged, or never made (a refused preflight or confirmation):
            # nothing of the drill is left in /tmp.
            shutil.rmtree(work, ignore_errors=True)
    paths = write_reports(report, directory)
    if as_json:
        emit_json(report.to_json())
    else:
        out(summary(report))
        out(f"reports: {', '.join(str(p) for p in paths)}")
        if keep and runner.sandbox_dir is not None:
            out(f"sandbox kept: drkit --config {runner.sandbox_dir / 'drkit.toml'} status")
    return int(ExitCode.DONE if report.passed else ExitCode.FAILED)


@drill.command(name="check")
@click.argument(
    "playbooks", nargs=-1, type=click.Path(dir_okay=False, path_type=Path), required=True
)
@json_option
def check(playbooks: tuple[Path, ...], as_json: bool) -> None:
    """Validate playbooks without running them.

    \b
    Examples:
      drkit drill check playbooks/drills/*.yaml
      drkit drill check my-drill.yaml --json
    """
    from drkit.drill.playbook import load_playbook

    checked = []
    for path in playbooks:
        book = load_playbook(path)
        checked.append({"path": str(path), "name": book.name, "steps": len(book.steps)})
        if not as_json:
            out(f"{path}: ok ({book.name}, {len(book.steps)} steps)")
    if as_json:
        emit_json(checked)


@drill.command(name="list")
@json_option
def list_playbooks(as_json: bool) -> None:
    """The shipped drills and runbooks.

    \b
    Examples:
      drkit drill list
      drkit drill run drop-table      # run one by its name
    """
    from drkit.drill.playbook import load_playbook

    found = []
    for path in shipped_playbooks():
        book = load_playbook(path)
        found.append(
            {
                "path": str(path),
                "name": book.name,
                "steps": len(book.steps),
                "sandbox": book.uses_sandbox,
                "description": first_paragraph(book.description),
            }
        )
    if as_json:
        emit_json(found)
        return
    for entry in found:
        # Whole sentences, wrapped under the name: never cut mid-sentence.
        out(f"{entry['name']}  ({entry['path']})")
        out(
            textwrap.fill(
                str(entry["description"]), width=96, initial_indent="    ", subsequent_indent="    "
            )
        )


def first_paragraph(text: str) -> str:
    """The description's first paragraph as one line (YAML blocks wrap mid-sentence)."""
    paragraph = text.strip().split("\n\n")[0]
    return " ".join(paragraph.split())


def playbook_dirs() -> list[Path]:
    """Where shipped playbooks are: under the current folder, then beside drkit's own source."""
    roots = [Path.cwd(), Path(__file__).resolve().parents[2]]
    found: list[Path] = []
    for root in roots:
        for folder in PLAYBOOK_DIRS:
            path = root / folder
            if path.is_dir() and path.resolve() not in {f.resolve() for f in found}:
                found.append(path)
    return found


def shipped_playbooks() -> list[Path]:
    seen: set[tuple[str, str]] = set()  # (drills|runbooks, file name): the first folder wins
    books = []
    for folder in playbook_dirs():
        for path in sorted(folder.glob("*.yaml")):
            key = (folder.name, path.name)
            if key not in seen:
                seen.add(key)
                books.append(path)
    return books


def find_playbook(given: Path) -> Path:
    """A path as given, or a shipped playbook by its name (`drop-table`, `drop-table-runbook`)."""
    if given.exists() or given.suffix in (".yaml", ".yml") or len(given.parts) > 1:
        return given
    name = str(given)
    for path in shipped_playbooks():
        if path.stem == name:
            return path
    from drkit.drill.playbook import load_playbook

    for path in shipped_playbooks():
        if load_playbook(path).name == name:
            return path
    from drkit.errors import UsageError

    # The names `drkit drill list` prints (a runbook's file stem repeats a drill's: drop-table).
    known = ", ".join(load_playbook(p).name for p in shipped_playbooks()) or "none found"
    raise UsageError(f"no playbook file or shipped playbook named {name!r} (shipped: {known})")


def summary(report: object) -> str:
    from drkit.drill.runner import DrillReport

    assert isinstance(report, DrillReport)
    m = report.metrics
    verdict = "PASSED" if report.passed else "FAILED"

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}s"

    lines = [
        f"drill {report.playbook}: {verdict} in {report.seconds:.1f}s",
        f"  time to detect {seconds(m.time_to_detect)}, to freeze {seconds(m.time_to_freeze)}, "
        f"to recover (RTO) {seconds(m.rto)}; transactions lost (RPO) {'-' if m.rpo is None else m.rpo}; "
        f"verifications {m.verifications - m.verifications_failed}/{m.verifications} matched",
    ]
    for answer in m.answers:
        lines.append(
            f"  {answer['table']} as of {answer['moment']!r} by {answer['how']}: "
            f"{'matched' if answer['matched'] else 'DID NOT MATCH'} in {answer['seconds']:.2f}s"
        )
    for step in report.steps:
        if not step.ok and not step.skipped:
            lines.append(
                f"  FAILED step {step.number} ({step.title}, line {step.line}): {step.error}"
            )
    return "\n".join(lines)


def _overrides(params: tuple[str, ...]) -> dict[str, str]:
    from drkit.errors import UsageError

    found = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"--param expects NAME=VALUE, got {item!r}")
        found[name.strip()] = value.strip()
    return found


__all__ = ["drill"]
