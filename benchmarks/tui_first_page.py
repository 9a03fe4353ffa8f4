"""Time to the first timeline page in the console, against the same index query run directly.

Builds an index of --transactions transactions (default 1,000,000: an order workload over five
tables, one destructive transaction in 5,000) with drkit's own IndexStore, then for three questions
  - newest: the newest page, no filter (`t` on the dashboard);
  - destructive: destructive transactions only (`x` in the timeline);
  - table: one table's transactions (`/`, type `shop.carts`, Enter);
times, --repeat times each,
  - direct: open the index read-only, `IndexStore.search(Filters(...))` for one page, close;
  - console: from the key press in a headless `drkit tui` (Pilot) to exactly that page's rows in
    the timeline's table (`n` reloads the newest page of an open timeline),
and prints the medians and console/direct, and the time `t` takes to open the timeline. The nodes of the config are closed ports (down), as in
the worst hour of an incident.

    python benchmarks/tui_first_page.py [--transactions 1000000] [--dir DIR] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drkit import config as config_module  # noqa: E402
from drkit.index.records import Destructive, TableRows  # noqa: E402
from drkit.index.store import Filters, IndexStore, NewTransaction  # noqa: E402
from drkit.model.coords import BinlogCoord  # noqa: E402
from drkit.service import Operations  # noqa: E402

PAGE = 50
TABLES = ("shop.orders", "shop.customers", "shop.order_log", "shop.counters", "shop.carts")
QUESTIONS = {
    "newest": Filters(limit=PAGE),
    "destructive": Filters(limit=PAGE, destructive=True),
    "table": Filters(limit=PAGE, table="shop.carts"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, help="keep the index here (reused when it exists)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        return run(args.dir, args.transactions, args.repeat)
    with tempfile.TemporaryDirectory(prefix="drkit-bench-") as tmp:
        return run(Path(tmp), args.transactions, args.repeat)


def run(folder: Path, transactions: int, repeat: int) -> int:
    index = folder / "index.db"
    if not index.exists():
        started = time.perf_counter()
        build_index(index, transactions)
        print(f"index: {transactions} transactions written in {time.perf_counter() - started:.1f}s")
    config_file = write_config(folder)
    ops = Operations(config_module.load(config_file), command="benchmark")
    store = IndexStore(index, readonly=True)
    print(f"index: {store.count()} transactions, {index.stat().st_size / 1e6:.0f} MB")
    store.close()
    expected = {name: [str(tx.id) for tx in ops.search(f)] for name, f in QUESTIONS.items()}
    assert all(expected.values()), "the index has nothing for one of the questions"
    runs = [asyncio.run(time_console(ops, expected)) for _ in range(repeat)]
    console = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
    print(f"{'question':<12} {'direct':>10} {'console':>10} {'console/direct':>15}")
    for name, filters in QUESTIONS.items():
        direct = statistics.median(time_direct(index, filters) for _ in range(repeat))
        ratio = console[name] / direct
        print(f"{name:<12} {direct * 1000:8.1f}ms {console[name] * 1000:8.1f}ms {ratio:15.1f}")
    print(
        f"opening the timeline (building the screen, then the newest page): "
        f"{console['open'] * 1000:.1f}ms"
    )
    return 0


def time_direct(index: Path, filters: Filters) -> float:
    """Open the index read-only, read one page, close: what a script asking the index pays."""
    started = time.perf_counter()
    store = IndexStore(index, readonly=True)
    rows = store.search(filters)
    store.close()
    elapsed = time.perf_counter() - started
    assert rows, f"{filters}: no rows"
    return elapsed


async def time_console(ops: Operations, expected: dict[str, list[str]]) -> dict[str, float]:
    """From each key press to exactly the expected page in the timeline's table, in one console."""
    from textual.widgets import DataTable, Input

    from tui.app import DrkitApp
    from tui.messages import PageLoaded
    from tui.screens.timeline import TimelineScreen

    pages: list[object] = []
    app = DrkitApp(ops, refresh_every=0, status_timeout=1)
    times: dict[str, float] = {}
    async with app.run_test(
        size=(120, 40),
        message_hook=lambda m: pages.append(m) if isinstance(m, PageLoaded) else None,
    ) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()

        async def timed(key: str, want: list[str]) -> float:
            seen = len(pages)
            started = time.perf_counter()
            press(app, key)
            table = await wait_for(lambda: _table(app, TimelineScreen, DataTable))
            await wait_for(lambda: len(pages) > seen and _keys(table) == want)
            return time.perf_counter() - started

        times["open"] = await timed("t", expected["newest"])
        await pilot.pause()
        times["newest"] = await timed("n", expected["newest"])
        await pilot.pause()
        times["destructive"] = await timed("x", expected["destructive"])
        await pilot.pause()
        await timed("x", expected["newest"])
        await pilot.pause()
        await pilot.press("slash")
        app.screen.query_one("#table", Input).value = "shop.carts"
        times["table"] = await timed("enter", expected["table"])
    return times


def press(app: object, key: str) -> None:
    """Send one key the way the terminal driver does (Pilot.press would also wait for idle CPU)."""
    from textual import events

    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)  # type: ignore[arg-type]
    app._driver.send_message(event)  # type: ignore[attr-defined]


def _keys(table: object) -> list[str]:
    return [str(key.value) for key in getattr(table, "rows", {})]


def _table(app: object, screen_type: type, table_type: type) -> object | None:
    screen = getattr(app, "screen", None)
    if not isinstance(screen, screen_type):
        return None
    found = screen.query(table_type)
    return found.first() if found else None


async def wait_for(predicate, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.001)
    raise TimeoutError("the console never showed the page")


def build_index(index: Path, count: int) -> None:
    """An order workload: mostly single-table inserts and updates, now and then a destructive one."""
    store = IndexStore(index)
    batch: list[NewTransaction] = []
    pos = 4
    file_number = 1
    start_ts = int(time.time()) - count  # one transaction a second up to now
    for number in range(1, count + 1):
        table = TABLES[number % len(TABLES)]
        destructive = None
        statement = f"INSERT INTO {table} VALUES ({number}, 'x')"
        rows = (TableRows(table, inserts=1 + number % 3),)
        if number % 5000 == 0:
            statement = f"DELETE FROM {table}"
            rows = (TableRows(table, deletes=120),)
            destructive = Destructive("delete_without_where", "high", "DELETE without WHERE")
        end = pos + 250 + number % 200
        batch.append(
            NewTransaction(
                gtid=f"0-1-{number}",
                file=f"mysql-bin.{file_number:06d}",
                start_pos=pos,
                end_pos=end,
                timestamp=start_ts + number,
                server_id=1,
                kind="dml",
                tables=rows,
                statement=statement,
                destructive=destructive,
            )
        )
        pos = end
        if pos > 1_000_000_000:
            file_number, pos = file_number + 1, 4
        if len(batch) == 20_000:
            store.append(batch, BinlogCoord(f"mysql-bin.{file_number:06d}", pos))
            batch.clear()
    if batch:
        store.append(batch, BinlogCoord(f"mysql-bin.{file_number:06d}", pos))
    store.close()


def write_config(folder: Path) -> Path:
    """A config whose nodes are ports nobody listens on: the console runs with every node down."""
    ports = []
    for _ in range(2):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    path = folder / "drkit.toml"
    path.write_text(
        '[index]\npath = "index.db"\n\n'
        f'[nodes.primary]\nrole = "primary"\nhost = "127.0.0.1"\nport = {ports[0]}\n'
        'user = "drkit"\npassword = "unused"\n\n'
        f'[nodes.delayed]\nrole = "delayed"\nhost = "127.0.0.1"\nport = {ports[1]}\n'
        'user = "drkit"\npassword = "unused"\ndelay = 3600\n',
        encoding="utf-8",
    )
    return path


if __name__ == "__main__":
    sys.exit(main())
