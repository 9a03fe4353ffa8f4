"""Find the programs drkit runs (the servers' client, dump and binlog tools) on PATH or in sbin."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# Ordinary users' PATH often lacks sbin, where Debian puts mariadbd.
EXTRA_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/libexec", "/usr/local/mysql/bin")


def find_program(*names: str) -> Path | None:
    """The first of `names` found on PATH or in the extra directories, else None."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *EXTRA_DIRS])
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return Path(found)
    return None
