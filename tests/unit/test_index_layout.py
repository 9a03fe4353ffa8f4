"""The stored forms lay_out writes: row-event offsets packed, and statements redacted cheaply."""

from __future__ import annotations

import array
import random

from drkit.index.layout import pack_pairs, unpack_pairs
from drkit.io.secrets import _HINT, _may_hold_password


def test_packed_pairs_are_little_endian_64_bit_integers_and_read_back() -> None:
    rng = random.Random(5)
    for count in (*range(12), 334, 1000):
        pairs = [(rng.randrange(2**40), rng.randrange(2**62)) for _ in range(count)]
        expected = array.array("q", [offset for pair in pairs for offset in pair])
        packed = pack_pairs(pairs)
        assert packed == expected.tobytes()  # this machine is little-endian, as stored
        assert packed[:8] == (pairs[0][0].to_bytes(8, "little") if pairs else b"")
        assert unpack_pairs(packed) == pairs


def test_the_password_precheck_never_misses_what_the_redaction_looks_for() -> None:
    rng = random.Random(11)
    pieces = ["PassWord", "password(", "IDENTIFIED", "identifie", "pwd", "PWD", "xpwdx",
              "pass word", "Pa\u017f\u017fword", "id", "INSERT INTO t VALUES (1)", " ", "é"]  # fmt: skip
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 6)))
        if _HINT.search(text) is not None:
            assert _may_hold_password(text), text
