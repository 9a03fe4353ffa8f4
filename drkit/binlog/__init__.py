"""Reading raw binlog files: per-transaction records for the index, row images on demand."""

from drkit.binlog.events import BinlogFormatError
from drkit.binlog.rows import RowImage, decode_rows
from drkit.binlog.scan import BinlogScan, scan_bytes, scan_file
from drkit.binlog.transaction import TableChange, Transaction

__all__ = [
    "BinlogFormatError",
    "BinlogScan",
    "RowImage",
    "TableChange",
    "Transaction",
    "decode_rows",
    "scan_bytes",
    "scan_file",
]
