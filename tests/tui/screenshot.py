"""Write the README's screenshot of the dashboard from the fixed snapshot values.

python -m tests.tui.screenshot [docs/tui-dashboard.svg]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.tui.fake import NOW, FakeOperations
from tui.app import DrkitApp


async def save(path: Path, size: tuple[int, int] = (100, 30)) -> None:
    app = DrkitApp(FakeOperations(), clock=lambda: NOW, refresh_every=0)
    async with app.run_test(size=size) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.save_screenshot(path.name, path=str(path.parent))


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/tui-dashboard.svg")
    asyncio.run(save(target))
    print(target)
