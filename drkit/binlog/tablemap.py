"""Table_map events: the column types, metadata and (with binlog_row_metadata=FULL) names that
the following Rows events refer to by table id, and the byte shape of each column in a row image.
"""

from __future__ import annotations

from dataclasses import dataclass

from drkit.binlog.charsets import decode_text
from drkit.binlog.events import BinlogFormatError, read_packed_int

# Column types as they appear in Table_map events.
T_DECIMAL = 0
T_TINY = 1
T_SHORT = 2
T_LONG = 3
T_FLOAT = 4
T_DOUBLE = 5
T_NULL = 6
T_TIMESTAMP = 7
T_LONGLONG = 8
T_INT24 = 9
T_DATE = 10
T_TIME = 11
T_DATETIME = 12
T_YEAR = 13
T_NEWDATE = 14
T_VARCHAR = 15
T_BIT = 16
T_TIMESTAMP2 = 17
T_DATETIME2 = 18
T_TIME2 = 19
T_TYPED_ARRAY = 20
T_VECTOR = 242
T_JSON = 245
T_NEWDECIMAL = 246
T_ENUM = 247
T_SET = 248
T_TINY_BLOB = 249
T_MEDIUM_BLOB = 250
T_LONG_BLOB = 251
T_BLOB = 252
T_VAR_STRING = 253
T_STRING = 254
T_GEOMETRY = 255

_FIXED_SIZES = {
    T_TINY: 1,
    T_SHORT: 2,
    T_INT24: 3,
    T_LONG: 4,
    T_LONGLONG: 8,
    T_FLOAT: 4,
    T_DOUBLE: 8,
    T_NULL: 0,
    T_TIMESTAMP: 4,
    T_DATE: 3,
    T_NEWDATE: 3,
    T_TIME: 3,
    T_DATETIME: 8,
    T_YEAR: 1,
}
_ONE_BYTE_META = {
    T_FLOAT,
    T_DOUBLE,
    T_TIMESTAMP2,
    T_DATETIME2,
    T_TIME2,
    T_JSON,
    T_GEOMETRY,
    T_VECTOR,
    T_TINY_BLOB,
    T_MEDIUM_BLOB,
    T_LONG_BLOB,
    T_BLOB,
}
_TEMPORAL2_BASE = {T_TIMESTAMP2: 4, T_DATETIME2: 5, T_TIME2: 3}  # bytes before the fraction
_TWO_BYTE_META = {T_VARCHAR, T_VAR_STRING, T_NEWDECIMAL, T_BIT, T_STRING, T_ENUM, T_SET}
_BLOBS = {T_TINY_BLOB, T_MEDIUM_BLOB, T_LONG_BLOB, T_BLOB}
_NUMERIC = {T_TINY, T_SHORT, T_INT24, T_LONG, T_LONGLONG, T_NEWDECIMAL, T_FLOAT, T_DOUBLE}
_CHARACTER = {T_STRING, T_VAR_STRING, T_VARCHAR, *_BLOBS}
_DIG2BYTES = (0, 1, 1, 2, 2, 3, 3, 4, 4, 4)

# Optional metadata field types (MySQL 8.0.1+, MariaDB 10.5+).
_SIGNEDNESS = 1
_DEFAULT_CHARSET = 2
_COLUMN_CHARSET = 3
_COLUMN_NAME = 4
_SET_STR_VALUE = 5
_ENUM_STR_VALUE = 6
_SIMPLE_PRIMARY_KEY = 8
_PRIMARY_KEY_WITH_PREFIX = 9
_ENUM_AND_SET_DEFAULT_CHARSET = 10
_ENUM_AND_SET_COLUMN_CHARSET = 11


class UnreadableColumns(BinlogFormatError):
    """A well-formed table map whose columns this reader cannot size (an unknown type, MariaDB's
    pre-10.1 temporal columns, a MySQL 5.1 pre-GA map without metadata): its rows go uncounted."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column as a Table_map describes it, with its byte shape inside a row image.

    `type` is the real type (ENUM and SET are resolved out of STRING); `size` is the fixed byte
    size, or None when the value carries a little-endian length prefix of `prefix` bytes.
    """

    index: int
    type: int
    meta: int
    nullable: bool
    size: int | None
    prefix: int
    name: str | None = None
    unsigned: bool = False
    collation: int | None = None
    labels: tuple[str, ...] | None = None  # ENUM / SET member names

    @property
    def label(self) -> str:
        """The column's name when the table map carried it, else MariaDB's `@N` (1-based)."""
        return self.name if self.name is not None else f"@{self.index + 1}"


@dataclass(frozen=True, slots=True)
class TableMap:
    """A table's identity and columns, as the binlog describes them for its row images."""

    table_id: int
    schema: str
    table: str
    columns: tuple[Column, ...]
    primary_key: tuple[int, ...] = ()

    @property
    def json_column_count(self) -> int:
        return sum(1 for column in self.columns if column.type == T_JSON)


def parse_table_id(buf: bytes, body: int, post_header_len: int) -> int:
    """The table id at the start of a Table_map or Rows post-header (6 bytes, 4 in old servers)."""
    width = 4 if post_header_len == 6 else 6
    return int.from_bytes(buf[body : body + width], "little")


def parse_table_name(buf: bytes, body: int, body_end: int, post_header_len: int) -> tuple[str, str]:
    """The schema and table names of a Table_map event (readable even where its columns are not)."""
    schema, table, _pos = _names(buf, body + post_header_len, body_end)
    return schema, table


def parse_table_map(
    buf: bytes, body: int, body_end: int, post_header_len: int, mariadb: bool
) -> TableMap:
    """Decode a Table_map event body (header excluded, checksum excluded at body_end)."""
    table_id = parse_table_id(buf, body, post_header_len)
    schema, table, pos = _names(buf, body + post_header_len, body_end)
    count, pos = read_packed_int(buf, pos)
    types = bytes(buf[pos : pos + count])
    pos += count
    if pos == body_end:
        raise UnreadableColumns(f"table map of {schema}.{table}: no column metadata")
    meta_len, pos = read_packed_int(buf, pos)
    meta = bytes(buf[pos : pos + meta_len])
    pos += meta_len
    null_bits = bytes(buf[pos : pos + (count + 7) // 8])
    pos += (count + 7) // 8
    if pos > body_end:
        raise BinlogFormatError(f"table map of {schema}.{table}: its columns run past the event")
    shapes = _column_shapes(types, meta)
    if shapes is None:
        raise UnreadableColumns(
            f"table map of {schema}.{table}: column metadata does not match the column types"
        )
    extra = _parse_optional_metadata(buf, pos, body_end)
    columns = _build_columns(types, shapes, null_bits, extra, mariadb)
    return TableMap(table_id, schema, table, columns, extra.primary_key)


def _names(buf: bytes, pos: int, end: int) -> tuple[str, str, int]:
    """Schema and table names (each a length byte, the name, a zero byte); the next position."""
    names: list[str] = []
    for _ in range(2):
        if pos >= end:
            raise BinlogFormatError("a table map event shorter than its names")
        length = buf[pos]
        names.append(bytes(buf[pos + 1 : pos + 1 + length]).decode("utf-8", errors="replace"))
        pos += length + 2
    if pos > end:
        raise BinlogFormatError("a table map event shorter than its names")
    return names[0], names[1], pos


@dataclass(frozen=True, slots=True)
class _Shape:
    type: int
    meta: int
    size: int | None
    prefix: int


def _column_shapes(types: bytes, meta: bytes) -> list[_Shape] | None:
    """Each column's real type, metadata and byte shape; None when the metadata does not add up.

    MariaDB's pre-10.1 "hires" TIME/DATETIME/TIMESTAMP(n) columns (mysql56_temporal_format=OFF)
    are logged with the old type codes and no metadata, so their size cannot be known here: rows
    of such tables come out as uncounted (or, for DATETIME(5..6), as wrong old-format values).
    """
    shapes: list[_Shape] = []
    pos = 0
    for column_type in types:
        shape, pos = _shape(column_type, meta, pos)
        if shape is None:
            return None
        shapes.append(shape)
    return shapes if pos == len(meta) else None


def _shape(column_type: int, meta: bytes, pos: int) -> tuple[_Shape | None, int]:
    """Read one column's metadata from `meta` at `pos`; returns its shape and the next position."""
    if column_type in _FIXED_SIZES:
        width = 1 if column_type in (T_FLOAT, T_DOUBLE) else 0
    elif column_type in _ONE_BYTE_META:
        width = 1
    elif column_type in _TWO_BYTE_META:
        width = 2
    else:
        return None, pos  # a type this reader does not know: its size is unknown
    if pos + width > len(meta):
        return None, pos
    if column_type in _FIXED_SIZES:
        return _Shape(column_type, 0, _FIXED_SIZES[column_type], 0), pos + width
    if width == 2:
        return _two_byte_shape(column_type, meta[pos], meta[pos + 1]), pos + 2
    value = meta[pos]
    temporal_base = _TEMPORAL2_BASE.get(column_type)
    if temporal_base is not None:
        return _Shape(column_type, value, temporal_base + (value + 1) // 2, 0), pos + 1
    return _Shape(column_type, value, None, value), pos + 1  # BLOB, JSON, GEOMETRY: prefix


def _two_byte_shape(column_type: int, first: int, second: int) -> _Shape:
    if column_type in (T_VARCHAR, T_VAR_STRING):
        max_len = first | second << 8
        return _Shape(column_type, max_len, None, 1 if max_len < 256 else 2)
    if column_type == T_NEWDECIMAL:
        return _Shape(column_type, first << 8 | second, decimal_size(first, second), 0)
    if column_type == T_BIT:
        # first: bits beyond whole bytes, second: whole bytes.
        return _Shape(column_type, first << 8 | second, second + (1 if first else 0), 0)
    if column_type == T_STRING:
        if first in (T_ENUM, T_SET):
            return _Shape(first, second, second, 0)
        # A CHAR longer than 255 bytes keeps two more length bits in the type byte.
        max_len = second | (((first & 0x30) ^ 0x30) << 4)
        return _Shape(T_STRING, max_len, None, 1 if max_len < 256 else 2)
    # ENUM and SET directly (not written by current servers, but well defined).
    return _Shape(column_type, second, second, 0)


def decimal_size(precision: int, scale: int) -> int:
    """Bytes of a DECIMAL(precision, scale) in the binary format: 4 per 9 digits, plus leftovers."""
    integral = precision - scale
    return integral // 9 * 4 + _DIG2BYTES[integral % 9] + scale // 9 * 4 + _DIG2BYTES[scale % 9]


@dataclass
class _OptionalMetadata:
    signedness: bytes | None = None
    default_charset: tuple[int, dict[int, int]] | None = None
    column_charsets: list[int] | None = None
    names: list[str] | None = None
    set_values: list[tuple[bytes, ...]] | None = None
    enum_values: list[tuple[bytes, ...]] | None = None
    enum_set_default_charset: tuple[int, dict[int, int]] | None = None
    enum_set_column_charsets: list[int] | None = None
    primary_key: tuple[int, ...] = ()


def _parse_optional_metadata(buf: bytes, pos: int, end: int) -> _OptionalMetadata:
    extra = _OptionalMetadata()
    while pos < end:
        field_type = buf[pos]
        length, pos = read_packed_int(buf, pos + 1)
        if pos + length > end:
            raise BinlogFormatError(f"optional metadata field {field_type} runs past the event")
        value = bytes(buf[pos : pos + length])
        pos += length
        if field_type == _SIGNEDNESS:
            extra.signedness = value
        elif field_type == _DEFAULT_CHARSET:
            extra.default_charset = _default_charset(value)
        elif field_type == _COLUMN_CHARSET:
            extra.column_charsets = _packed_ints(value)
        elif field_type == _COLUMN_NAME:
            extra.names = [name.decode("utf-8", errors="replace") for name in _strings(value)]
        elif field_type == _SET_STR_VALUE:
            extra.set_values = _string_lists(value)
        elif field_type == _ENUM_STR_VALUE:
            extra.enum_values = _string_lists(value)
        elif field_type == _SIMPLE_PRIMARY_KEY:
            extra.primary_key = tuple(_packed_ints(value))
        elif field_type == _PRIMARY_KEY_WITH_PREFIX:
            extra.primary_key = tuple(_packed_ints(value)[0::2])
        elif field_type == _ENUM_AND_SET_DEFAULT_CHARSET:
            extra.enum_set_default_charset = _default_charset(value)
        elif field_type == _ENUM_AND_SET_COLUMN_CHARSET:
            extra.enum_set_column_charsets = _packed_ints(value)
    return extra


def _packed_ints(value: bytes) -> list[int]:
    out: list[int] = []
    pos = 0
    while pos < len(value):
        number, pos = read_packed_int(value, pos)
        out.append(number)
    return out


def _default_charset(value: bytes) -> tuple[int, dict[int, int]]:
    numbers = _packed_ints(value)
    if not numbers or len(numbers) % 2 != 1:
        raise BinlogFormatError("a default charset field with a dangling column")
    exceptions = dict(zip(numbers[1::2], numbers[2::2], strict=True))
    return numbers[0], exceptions


def _strings(value: bytes) -> list[bytes]:
    out: list[bytes] = []
    pos = 0
    while pos < len(value):
        length, pos = read_packed_int(value, pos)
        if pos + length > len(value):
            raise BinlogFormatError("a name runs past its optional metadata field")
        out.append(value[pos : pos + length])
        pos += length
    return out


def _string_lists(value: bytes) -> list[tuple[bytes, ...]]:
    out: list[tuple[bytes, ...]] = []
    pos = 0
    while pos < len(value):
        count, pos = read_packed_int(value, pos)
        members: list[bytes] = []
        for _ in range(count):
            length, pos = read_packed_int(value, pos)
            if pos + length > len(value):
                raise BinlogFormatError("an ENUM or SET label runs past its metadata field")
            members.append(value[pos : pos + length])
            pos += length
        out.append(tuple(members))
    return out


def _build_columns(
    types: bytes,
    shapes: list[_Shape],
    null_bits: bytes,
    extra: _OptionalMetadata,
    mariadb: bool,
) -> tuple[Column, ...]:
    numeric = _NUMERIC | {T_YEAR} if mariadb else _NUMERIC
    # MariaDB counts GEOMETRY (a BLOB underneath) among the character columns of the charset
    # fields; MySQL does not.
    character = _CHARACTER | {T_GEOMETRY} if mariadb else _CHARACTER
    collations = _Sequence(extra.column_charsets, extra.default_charset)
    enum_set_collations = _Sequence(extra.enum_set_column_charsets, extra.enum_set_default_charset)
    enum_values = iter(extra.enum_values or ())
    set_values = iter(extra.set_values or ())
    numeric_index = 0
    columns: list[Column] = []
    for index, shape in enumerate(shapes):
        unsigned = False
        collation: int | None = None
        labels: tuple[str, ...] | None = None
        if shape.type in numeric:
            if extra.signedness is not None:
                byte = numeric_index // 8
                if byte < len(extra.signedness):
                    unsigned = bool(extra.signedness[byte] & (0x80 >> numeric_index % 8))
            numeric_index += 1
        elif shape.type in character:
            collation = collations.next()
            if shape.type == T_GEOMETRY:
                collation = None  # its charset is a placeholder: a GEOMETRY value is bytes
        elif shape.type in (T_ENUM, T_SET):
            collation = enum_set_collations.next()
            raw_labels = next(enum_values if shape.type == T_ENUM else set_values, None)
            if raw_labels is not None:
                labels = tuple(_label_text(label, collation) for label in raw_labels)
        name = extra.names[index] if extra.names and index < len(extra.names) else None
        columns.append(
            Column(
                index=index,
                type=shape.type,
                meta=shape.meta,
                nullable=bool(null_bits[index // 8] & (1 << index % 8)),
                size=shape.size,
                prefix=shape.prefix,
                name=name,
                unsigned=unsigned,
                collation=collation,
                labels=labels,
            )
        )
    return tuple(columns)


def _label_text(raw: bytes, collation: int | None) -> str:
    """An ENUM or SET label, written in its column's character set (UTF-8 when not known)."""
    text = decode_text(raw, collation) if collation is not None else raw
    return text if isinstance(text, str) else text.decode("utf-8", errors="replace")


class _Sequence:
    """Hands out per-column collations in column order from either optional metadata form."""

    def __init__(
        self, per_column: list[int] | None, default: tuple[int, dict[int, int]] | None
    ) -> None:
        self._per_column = per_column
        self._default = default
        self._index = 0

    def next(self) -> int | None:
        index = self._index
        self._index += 1
        if self._per_column is not None:
            return self._per_column[index] if index < len(self._per_column) else None
        if self._default is not None:
            collation, exceptions = self._default
            return exceptions.get(index, collation)
        return None
