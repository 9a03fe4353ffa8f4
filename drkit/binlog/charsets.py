"""Reading column text by collation id, as the server that wrote it would: every MariaDB id from
the server's own list (drkit.binlog.collations), single-byte character sets through the byte
tables the server reported (MySQL's latin1 is cp1252 with 0x81, 0x8D, 0x8F, 0x90 and 0x9D kept
as U+0081 ...), multi-byte ones through Python's codecs.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from functools import cache

from drkit.binlog.collations import BYTE_TABLES, COLLATIONS

BINARY = 63

# Multi-byte character sets -> the Python codec that reads them.
MULTI_BYTE_CODECS: dict[str, str] = {
    "big5": "cp950",  # MySQL's big5 takes the Microsoft extensions too
    "cp932": "cp932",
    "eucjpms": "euc_jp",
    "euckr": "cp949",  # a superset of EUC-KR, as MySQL's euckr has been since 5.6
    "gb2312": "gb2312",
    "gbk": "gbk",
    "gb18030": "gb18030",  # MySQL 5.7+ only
    "sjis": "shift_jis",
    "ujis": "euc_jp",
    "ucs2": "utf-16-be",
    "utf16": "utf-16-be",
    "utf16le": "utf-16-le",
    "utf32": "utf-32-be",
    "utf8mb3": "utf-8",
    "utf8mb4": "utf-8",
}

# MySQL ids MariaDB does not define: gb18030 (5.7) and the utf8mb4 UCA 9.0.0 collations (8.0).
MYSQL_ONLY: dict[int, str] = {
    76: "utf8mb3",  # utf8mb3_tolower_ci
    248: "gb18030",
    249: "gb18030",
    250: "gb18030",
    **dict.fromkeys(range(255, 324), "utf8mb4"),
}

Decoder = Callable[[bytes], str]


def charset_of(collation: int) -> str | None:
    """The character set a collation id belongs to (None for an id no server defines)."""
    known = COLLATIONS.get(collation)
    if known is not None:
        return known[1]
    return MYSQL_ONLY.get(collation)


@cache
def decoder_for(collation: int) -> Decoder | None:
    """How to read text of a collation id; None for binary data (and for unknown ids, whose
    bytes are better returned as they are than guessed at)."""
    charset = charset_of(collation)
    if charset is None or charset == "binary":
        return None
    table = BYTE_TABLES.get(charset)
    if table is not None:
        return lambda raw: codecs.charmap_decode(raw, "replace", table)[0]
    codec = MULTI_BYTE_CODECS[charset]
    return lambda raw: raw.decode(codec, errors="replace")


def decode_text(raw: bytes, collation: int | None) -> str | bytes:
    """`raw` read as text of `collation`, or `raw` itself when it is binary or unknown."""
    if collation is None:
        return raw
    decode = decoder_for(collation)
    return raw if decode is None else decode(raw)
