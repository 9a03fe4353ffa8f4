"""The classifier's fast path against the full reading on a large generated corpus of DML texts.

The fast path may only ever say "nothing here" where the parser finds nothing. The texts are
built from pieces chosen to trip a regex: keywords and comment marks inside strings and groups,
OR hidden in a group or a string, comments of every kind, second statements, backticks, doubled
quotes, escaped quotes, stored-routine NAME_CONST values, odd spacing and letter case. A failure
prints the seed and the text.
"""

from __future__ import annotations

import random

from drkit.classify import classify_statement
from drkit.classify.fastpath import (
    _PLAIN_UPDATE_OR_DELETE,
    _single_statement_harmless,
    plainly_harmless,
)

SEED = 20261203
TEXTS = 6000

TABLES = ["t", "shop.orders", "`orders`", "sbtest3", "`shop`.`t`", "t1 JOIN t2 ON t1.id = t2.id"]
SETS = [
    "a = 1",
    "k=k+1",
    "c='73110845007-73110845007'",
    "a = 'x WHERE id = 1'",
    "a = 'it''s'",
    "a = 'a\\'b; DROP TABLE x'",
    'a = "-- not a comment"',
    "a = 'OR 1=1'",
    "a = b OR c",
    "a = (SELECT 1 OR 2)",
    "a = NAME_CONST('c',1) * 1.25",
    "a = CONCAT('(', b, ')')",
    "a = a - 1.5",
    "a = a -1",
    "a = 5/2",
    'j = \'{"k": "v"}\'',
    "a = 1 /* note */",
    "a = ((1))",
]
COLUMNS = ["id", "t.id", "shop.t.id", "`id`", "or", "NOT", "ROW", "k", "_x$"]
OPERATORS = ["=", "<=>", ">=", "<", "!=", "<>", " IN ", " NOT IN ", " LIKE ", " BETWEEN ", "IS"]
LITERALS = [
    "1", "-1", ".5", "?", "'x'", "\"y\"", "'a''b'", "NAME_CONST('i',1)", " NAME_CONST('i',1)",
    "(1, 2)", "(SELECT id FROM u)", "((1))", "id", "TRUE", "NULL", "'", "(",
]  # fmt: skip
TAILS = [
    "", " AND b = 2", " OR 1 = 1", " || 1", " XOR 1", " AND (a = 2 OR b = 3)", " LIMIT 5",
    " ORDER BY id LIMIT 1", " AND c = 'OR'", "; DROP TABLE t", "; DELETE FROM t", " -- x",
    " # x", " /* x */", " /*!50000 OR 1 */", " AND x = 1 WHERE 1", ";", "; ", " ;\n", "  \t",
    " AND d = '--'", " AND e = \"#\"", " AND a = b OR TRUE", " AND t.or = 1", " AND ORDER = 1",
    " AND f = ')'", ")", " AND (g = 1",
]  # fmt: skip
PREFIXES = ["", "", "", " ", "use shop; ", "use `shop`; ", "/* c */ ", "\n"]
VERBS = ["UPDATE", "update", "Update", "DELETE FROM", "delete from", "DELETE t1 FROM", "UPDATE\t"]


def generated_texts(rng: random.Random, count: int) -> list[str]:
    texts = []
    for _ in range(count):
        verb = rng.choice(VERBS)
        table = rng.choice(TABLES)
        middle = f" SET {rng.choice(SETS)}" if verb.upper().startswith("UPDATE") else ""
        where = (
            f" WHERE {rng.choice(COLUMNS)}{rng.choice(OPERATORS)}{rng.choice(LITERALS)}"
            if rng.random() < 0.9
            else ""
        )
        tail = "".join(rng.choice(TAILS) for _ in range(rng.choice((0, 1, 1, 2))))
        texts.append(f"{rng.choice(PREFIXES)}{verb} {table}{middle}{where}{tail}")
    return texts


def test_the_fast_path_clears_only_what_the_parser_finds_harmless() -> None:
    rng = random.Random(SEED)
    texts = generated_texts(rng, TEXTS)
    cleared = 0
    for text in texts:
        if plainly_harmless(text):
            cleared += 1
            parsed = classify_statement(text, "shop", fast_path=False)
            assert parsed == [], f"seed {SEED}: the fast path cleared {text!r}: {parsed}"
    # Both answers are common: the corpus exercises the fast path and what it leaves alone.
    assert TEXTS // 10 < cleared < TEXTS - TEXTS // 10, cleared


def test_the_one_match_reading_concludes_what_the_step_by_step_reading_does() -> None:
    rng = random.Random(SEED + 1)
    matched = 0
    for text in generated_texts(rng, TEXTS):
        if _PLAIN_UPDATE_OR_DELETE.fullmatch(text) is not None:
            matched += 1
            assert _single_statement_harmless(text), f"seed {SEED + 1}: {text!r}"
    assert matched > TEXTS // 50, matched  # the adversarial pieces make most texts doubtful


def test_sysbench_and_stored_routine_statements_take_the_one_match_reading() -> None:
    for text in (
        "UPDATE sbtest5 SET k=k+1 WHERE id=9055",
        "UPDATE sbtest8 SET c='73110845007-73110845007-73110845007' WHERE id=9871",
        "DELETE FROM sbtest6 WHERE id=7495",
        "UPDATE orders SET status = 'paid' WHERE id =  NAME_CONST('o',316)",
        "UPDATE customers SET balance = balance - 1.5, score =  NAME_CONST('c',317) * 1.25 "
        "WHERE id =  NAME_CONST('c',317)",
        "DELETE FROM log WHERE order_id > NAME_CONST('o',9) - 400 AND order_id < 7;",
    ):
        assert _PLAIN_UPDATE_OR_DELETE.fullmatch(text) is not None, text
        assert plainly_harmless(text)
        assert classify_statement(text, "shop", fast_path=False) == []


def test_the_one_match_reading_refuses_what_could_hide_a_finding() -> None:
    for text in (
        "UPDATE t SET a = 1 WHERE id = 1 OR 1 = 1",
        "UPDATE t SET a = 1 WHERE id = 1 || 1",
        "UPDATE t SET a = 1 WHERE or = 1",
        "DELETE FROM t WHERE id = 1; DROP TABLE u",
        "DELETE FROM t WHERE id = 1 /*!50000 OR 1 */",
        "DELETE FROM t WHERE id = 1 -- x\n OR 1",
        "DELETE FROM t WHERE 1 = 1",
        "DELETE FROM t WHERE TRUE",
        "DELETE FROM t WHERE id = id",
        "UPDATE t SET a = 'x WHERE id = 1'",
        "UPDATE t SET a = (SELECT 1 WHERE id = 1)",
        "DELETE FROM t WHERE id = 'unterminated",
    ):
        assert _PLAIN_UPDATE_OR_DELETE.fullmatch(text) is None, text
