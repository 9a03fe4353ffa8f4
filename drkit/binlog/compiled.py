"""The optional compiled scanner (drkit/binlog/_scanner.c), when it was built and not refused.

`setup.py` builds it where a C compiler is found; without it, or with DRKIT_PURE_PYTHON_SCAN=1
in the environment, drkit.binlog.scan runs its pure-Python walk and generated row counters,
which read every file the same way (tests/unit/test_binlog_compiled_scan.py compares them).
"""

from __future__ import annotations

import os
from types import ModuleType

PURE_PYTHON_VARIABLE = "DRKIT_PURE_PYTHON_SCAN"

try:
    from drkit.binlog import _scanner
except ImportError:  # no compiler where drkit was installed: the Python walk does it all
    _compiled: ModuleType | None = None
else:
    _compiled = _scanner


def compiled_scanner() -> ModuleType | None:
    """The compiled module, or None: not built, or DRKIT_PURE_PYTHON_SCAN set (read each call,
    so a test or an operator can switch per scan)."""
    if os.environ.get(PURE_PYTHON_VARIABLE, "") not in ("", "0"):
        return None
    return _compiled


def available() -> bool:
    """Whether the compiled scanner was built (whatever the environment asks)."""
    return _compiled is not None
