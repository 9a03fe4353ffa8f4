"""`make demo`: start a sandbox, write some data, and show what drkit sees."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from drkit import config as config_module
from drkit.errors import DrkitError
from drkit.sandbox import topology


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drkit.demo", description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path("demo"))
    parser.add_argument("--delay", type=int, default=3600)
    args = parser.parse_args(argv)
    try:
        return _run(args.dir, args.delay)
    except DrkitError as exc:
        print(f"demo: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return int(exc.exit_code)


def _run(directory: Path, delay: int) -> int:
    from drkit.cli.status import render_status
    from drkit.sandbox.workload import write_sample_data
    from drkit.service import Drkit

    print(f"== 1. a sandbox: primary, replica, and a replica delayed by {delay} s")
    result = topology.up(directory, delay=delay, report=lambda line: print(f"   {line}"))
    if result.already_running:
        print("   (already running)")
    config = config_module.load(result.layout.config_file)
    print("== 2. an application writes orders on the primary")
    written = write_sample_data(result.layout, result.state)
    print(f"   {written}")
    print("== 3. drkit status")
    print(render_status(Drkit(config).status()))
    print()
    print(
        "The replica has the orders already; the delayed replica will apply them after the delay."
    )
    print("Try next:")
    print(f"   .venv/bin/drkit --config {result.layout.config_file} status --json")
    print(f"   mariadb --defaults-file={result.layout.app_client_file} shop")
    print(f"   .venv/bin/drkit sandbox down --dir {directory} [--purge]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
