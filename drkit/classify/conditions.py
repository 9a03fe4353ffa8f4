"""The WHERE evaluator: whether a condition is true, false or row-dependent without any row."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from drkit.classify.lexer import Tok, ident_value

_COMPARISONS = frozenset({"=", "<=>", "!=", "<>", "<", ">", "<=", ">="})
_SELF_TRUE_COMPARISONS = frozenset({"=", "<=>", "<=", ">="})
_NUMERIC_PREFIX = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?", re.IGNORECASE)


def truth(toks: Sequence[Tok]) -> bool | None:
    """True or False when a condition's value does not depend on the row; None when it may."""
    toks = _without_outer_parens(toks)
    for operators, combine in ((_OR_OPERATORS, _either), (_AND_OPERATORS, _both)):
        parts = _split_logical(toks, operators)
        if len(parts) > 1:
            return combine([truth(part) for part in parts])
    if toks and toks[0].key in ("NOT", "!"):
        inner = truth(toks[1:])
        return None if inner is None else not inner
    compared = _split_comparison(toks)
    if compared is not None:
        return _comparison_truth(*compared)
    value = _literal(toks)
    return None if value is None else _truthy(value)


_OR_OPERATORS = frozenset({"OR", "||"})
_AND_OPERATORS = frozenset({"AND", "&&"})


def _either(values: Sequence[bool | None]) -> bool | None:
    if any(value is True for value in values):
        return True
    return False if all(value is False for value in values) else None


def _both(values: Sequence[bool | None]) -> bool | None:
    if any(value is False for value in values):
        return False
    return True if all(value is True for value in values) else None


def _comparison_truth(left: Sequence[Tok], op: str, right: Sequence[Tok]) -> bool | None:
    left_value, right_value = _literal(left), _literal(right)
    if left_value is not None and right_value is not None:
        return _compare(left_value, op, right_value)
    column = _column_ref(left)
    # id = id holds on every row where id is not NULL: nothing about the row is tested.
    if op in _SELF_TRUE_COMPARISONS and column is not None and column == _column_ref(right):
        return True
    return None


def _without_outer_parens(toks: Sequence[Tok]) -> Sequence[Tok]:
    while len(toks) >= 2 and toks[0].key == "(" and _closing(toks, 0) == len(toks) - 1:
        toks = toks[1:-1]
    return toks


def _closing(toks: Sequence[Tok], opening: int) -> int | None:
    level = 0
    for index in range(opening, len(toks)):
        if toks[index].kind == "symbol":
            if toks[index].key == "(":
                level += 1
            elif toks[index].key == ")":
                level -= 1
                if level == 0:
                    return index
    return None


def _split_logical(toks: Sequence[Tok], operators: frozenset[str]) -> list[Sequence[Tok]]:
    """Split at top-level AND or OR; the AND of `x BETWEEN 1 AND 5` is not a split point."""
    parts: list[Sequence[Tok]] = []
    level, start, between = 0, 0, False
    for index, tok in enumerate(toks):
        if tok.kind == "symbol" and tok.key == "(":
            level += 1
        elif tok.kind == "symbol" and tok.key == ")":
            level -= 1
        elif level == 0 and tok.key == "BETWEEN" and tok.kind in ("word", "symbol"):
            between = True
        elif level == 0 and tok.key in operators and tok.kind in ("word", "symbol"):
            if tok.key == "AND" and between:
                between = False
                continue
            parts.append(toks[start:index])
            start = index + 1
    parts.append(toks[start:])
    return parts


def _split_comparison(toks: Sequence[Tok]) -> tuple[Sequence[Tok], str, Sequence[Tok]] | None:
    level = 0
    for index, tok in enumerate(toks):
        if tok.kind != "symbol":
            continue
        if tok.key == "(":
            level += 1
        elif tok.key == ")":
            level -= 1
        elif level == 0 and tok.key in _COMPARISONS:
            return toks[:index], tok.key, toks[index + 1 :]
    return None


def _literal(toks: Sequence[Tok]) -> float | str | None:
    """The value of a lone literal (number, quoted string, TRUE/FALSE), else None."""
    toks = _without_outer_parens(toks)
    sign = 1.0
    if len(toks) == 2 and toks[0].kind == "symbol" and toks[0].key in ("-", "+"):
        sign = -1.0 if toks[0].key == "-" else 1.0
        toks = toks[1:]
        if toks[0].kind != "number":
            return None
    if len(toks) != 1:
        return None
    tok = toks[0]
    if tok.kind == "number":
        number = _number(tok.text)
        return None if number is None else sign * number
    if tok.kind == "string" and tok.text[:1] in ("'", '"'):
        return _unquote(tok.text)
    if tok.kind == "word" and tok.key in ("TRUE", "FALSE"):
        return 1.0 if tok.key == "TRUE" else 0.0
    return None


def _number(text: str) -> float | None:
    try:
        return float(int(text, 16)) if text.lower().startswith("0x") else float(text)
    except ValueError:
        return None


def _unquote(text: str) -> str:
    quote = text[0]
    inner = text[1:-1].replace(quote * 2, quote)
    return re.sub(r"\\(.)", r"\1", inner, flags=re.DOTALL)


def _column_ref(toks: Sequence[Tok]) -> tuple[str, ...] | None:
    """The dotted column a side names (t.id -> ("t", "id")), or None for anything else."""
    parts: list[str] = []
    for index, tok in enumerate(toks):
        if index % 2 == 1:
            if not (tok.kind == "symbol" and tok.key == "."):
                return None
            continue
        if tok.kind == "word" and tok.key in ("NULL", "TRUE", "FALSE"):
            return None
        name = ident_value(tok) if tok.kind in ("word", "name") else None
        if name is None:
            return None
        parts.append(name.casefold())
    return tuple(parts) if parts and len(toks) % 2 == 1 else None


def _compare(left: float | str, op: str, right: float | str) -> bool:
    """A comparison of two literals as MySQL makes it (strings case-insensitively)."""
    check = _COMPARE[op]
    if isinstance(left, str) and isinstance(right, str):
        return bool(check(left.rstrip(" ").casefold(), right.rstrip(" ").casefold()))
    return bool(check(_as_number(left), _as_number(right)))


_COMPARE: Mapping[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "<=>": operator.eq,
    "!=": operator.ne,
    "<>": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


def _as_number(value: float | str) -> float:
    if isinstance(value, float):
        return value
    prefix = _NUMERIC_PREFIX.match(value)
    return float(prefix.group()) if prefix else 0.0


def _truthy(value: float | str) -> bool:
    return _as_number(value) != 0
