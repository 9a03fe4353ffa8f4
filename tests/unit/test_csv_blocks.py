"""`inspect --csv` and the console's CSV export write the same text: one block per result set."""

from __future__ import annotations

import csv
import io

from drkit.render import csv_blocks


def test_blocks_have_a_header_each_and_quote_what_needs_it() -> None:
    text = csv_blocks(
        [
            (("id", "note"), ((1, "a, b"), (2, 'say "hi"'), (3, None))),
            (("n",), ((7,),)),
        ]
    )
    first, second = text.split("\n\n")
    assert list(csv.reader(io.StringIO(first))) == [
        ["id", "note"],
        ["1", "a, b"],
        ["2", 'say "hi"'],
        ["3", ""],
    ]
    assert second == "n\n7"
    assert csv_blocks([]) == ""
