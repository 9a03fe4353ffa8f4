from collections.abc import Callable, Sequence

from drkit.binlog.transaction import Transaction

# (nullable, fixed size or -1, length-prefix width) per column present in an image.
ColumnPlan = tuple[bool, int, int]

class RowPlan:
    def __init__(
        self, before: Sequence[ColumnPlan], after: Sequence[ColumnPlan] | None
    ) -> None: ...
    def __call__(self, buf: bytes, start: int, end: int, /) -> tuple[int, int]: ...

class Walker:
    def __init__(
        self,
        file: str,
        by_id: dict[int, object],
        by_body: dict[tuple[bool, bytes], object],
        transaction: type[Transaction],
        table_change: type[object],
        no_flags: frozenset[str],
        uncounted_flags: frozenset[str],
        dml: str,
        other: str,
        mariadb: bool,
        post_header_lens: bytes,
        header_len: int,
        crc_len: int,
        mysql_gtids: bool,
        begin_probe: Callable[[bytes, int, int], bool],
    ) -> None: ...
    def run(
        self, buf: bytes, pos: int, verify: bool, own_positions: bool, /
    ) -> tuple[list[Transaction], int, int]: ...

def crc32(data: bytes, /) -> int: ...
