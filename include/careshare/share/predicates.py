"""A query's filter hints, applied to files by their partition values (`la_code`, `report_date`).

Hints are best effort in the protocol: the client filters the rows again, and a server may return
more files than a hint asks for, never fewer. So a hint is evaluated three-valued: a file is left
out only when its partition values make the hint certainly false; a hint on another column, an
operation or value type this server does not know, or one that does not parse, is unknown and
keeps the file. Hints only narrow what the recipient may read, after access is decided.

`jsonPredicateHints` is the protocol's JSON tree (`column`, `literal`, `isNull`, `equal`,
`lessThan`, `lessThanOrEqual`, `greaterThan`, `greaterThanOrEqual`, `and`, `or`, `not`);
`predicateHints` are the older SQL comparisons (`col = 'x'`, `'x' < col`, `col IS NOT NULL`), AND-ed.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

Values = Mapping[str, str | None]  # a file's partition values
Predicate = Callable[[Values], bool | None]  # None: unknown
MAX_DEPTH = 32

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "equal": operator.eq,
    "lessThan": operator.lt,
    "lessThanOrEqual": operator.le,
    "greaterThan": operator.gt,
    "greaterThanOrEqual": operator.ge,
}
SQL_COMPARISONS = {
    "=": "equal",
    "<": "lessThan",
    "<=": "lessThanOrEqual",
    ">": "greaterThan",
    ">=": "greaterThanOrEqual",
}
SQL_MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}  # 'x' < col is col > 'x'
VALUE_TYPES: dict[str, Callable[[str], Any]] = {
    "string": str,
    "date": date.fromisoformat,
    "int": int,
    "long": int,
    "bool": lambda text: {"true": True, "false": False}[text.lower()],
}
SQL_TERM = r"(?:'(?P<{0}s>[^']*)'|(?P<{0}n>-?\d+)|(?P<{0}c>[A-Za-z_][A-Za-z0-9_]*))"
SQL_COMPARISON = re.compile(
    rf"^\s*{SQL_TERM.format('l')}\s*(?P<op><>|<=|>=|=|<|>)\s*{SQL_TERM.format('r')}\s*$", re.IGNORECASE
)
SQL_NULL_CHECK = re.compile(r"^\s*(?P<column>[A-Za-z_][A-Za-z0-9_]*)\s+IS\s+(?P<not>NOT\s+)?NULL\s*$", re.IGNORECASE)


class Unknown(ValueError):
    """A hint (or part of one) this server does not evaluate: it keeps every file."""


def file_filter(
    json_hints: str | None, sql_hints: Sequence[str] | None, columns: Sequence[str]
) -> Callable[[Values], bool]:
    """Whether a file with these partition values may match every hint given."""
    predicates = [json_predicate(json_hints, columns)] if json_hints else []
    predicates += [sql_predicate(hint, columns) for hint in sql_hints or ()]
    return lambda values: all(p(values) is not False for p in predicates)


def json_predicate(text: str, columns: Sequence[str]) -> Predicate:
    try:
        return _node(json.loads(text), columns, 0)
    except (Unknown, ValueError, TypeError, KeyError, RecursionError):
        return _unknown


def sql_predicate(text: object, columns: Sequence[str]) -> Predicate:
    try:
        return _node(_sql_tree(text), columns, 0)
    except (Unknown, ValueError, TypeError, KeyError):
        return _unknown


def _unknown(values: Values) -> bool | None:
    return None


def _node(tree: Any, columns: Sequence[str], depth: int) -> Predicate:
    if not isinstance(tree, dict) or depth > MAX_DEPTH:
        raise Unknown(tree)
    op, children = tree.get("op"), tree.get("children") or []
    if not isinstance(children, list):
        raise Unknown(tree)
    if op in ("and", "or"):
        return _logical(op, [_guarded(child, columns, depth + 1) for child in children])
    if op == "not" and len(children) == 1:
        inner = _guarded(children[0], columns, depth + 1)
        return lambda values: None if (found := inner(values)) is None else not found
    if op == "isNull" and len(children) == 1:
        value = _leaf(children[0], columns)
        return lambda values: None if (found := value(values)) is _UNKNOWN else found is None
    if op in COMPARISONS and len(children) == 2:
        left, right, compare = _leaf(children[0], columns), _leaf(children[1], columns), COMPARISONS[op]
        return lambda values: _compared(compare, left(values), right(values))
    raise Unknown(tree)


def _guarded(tree: Any, columns: Sequence[str], depth: int) -> Predicate:
    """A child the server cannot evaluate is unknown; its siblings still count."""
    try:
        return _node(tree, columns, depth)
    except (Unknown, ValueError, TypeError, KeyError):
        return _unknown


def _logical(op: str, children: list[Predicate]) -> Predicate:
    if not children:
        raise Unknown(op)

    def evaluate(values: Values) -> bool | None:
        found = [child(values) for child in children]
        if op == "and":
            return False if False in found else None if None in found else True
        return True if True in found else None if None in found else False

    return evaluate


_UNKNOWN = object()


def _leaf(tree: Any, columns: Sequence[str]) -> Callable[[Values], Any]:
    """A column's value in a file, or a literal, cast to its `valueType`; `_UNKNOWN` if it cannot be."""
    if not isinstance(tree, dict) or tree.get("valueType") not in VALUE_TYPES:
        raise Unknown(tree)
    cast = VALUE_TYPES[tree["valueType"]]
    if tree.get("op") == "column" and tree.get("name") in columns:
        name = tree["name"]
        return lambda values: _cast(cast, values.get(name, _UNKNOWN))
    if tree.get("op") == "literal" and isinstance(tree.get("value"), str):
        literal = cast(tree["value"])
        return lambda values: literal
    raise Unknown(tree)


def _cast(cast: Callable[[str], Any], text: Any) -> Any:
    if text is None or text is _UNKNOWN or text == "":  # an empty partition value is null
        return None if text != _UNKNOWN else _UNKNOWN
    try:
        return cast(text)
    except (ValueError, KeyError):
        return _UNKNOWN


def _compared(compare: Callable[[Any, Any], bool], left: Any, right: Any) -> bool | None:
    if left is _UNKNOWN or right is _UNKNOWN:
        return None
    if left is None or right is None:
        return False  # SQL: a comparison with null is never true
    try:
        return compare(left, right)
    except TypeError:
        return None


def _sql_tree(text: object) -> dict[str, Any]:
    """One SQL hint as the JSON tree; its literals take the type they are written in."""
    if not isinstance(text, str):
        raise Unknown(text)
    if null_check := SQL_NULL_CHECK.match(text):
        check = {"op": "isNull", "children": [_sql_column(null_check["column"], "string")]}
        return {"op": "not", "children": [check]} if null_check["not"] else check
    found = SQL_COMPARISON.match(text)
    if not found:
        raise Unknown(text)
    left, right, op = _sql_side(found, "l"), _sql_side(found, "r"), found["op"]
    if left["op"] == "literal" and right["op"] == "column":
        left, right, op = right, left, SQL_MIRRORED[op]
    if left["op"] != "column" or right["op"] != "literal":
        raise Unknown(text)
    left["valueType"] = right["valueType"]
    if op == "<>":
        return {"op": "not", "children": [{"op": "equal", "children": [left, right]}]}
    return {"op": SQL_COMPARISONS[op], "children": [left, right]}


def _sql_side(found: re.Match[str], side: str) -> dict[str, Any]:
    if (text := found[f"{side}s"]) is not None:
        return {"op": "literal", "value": text, "valueType": "date" if _is_date(text) else "string"}
    if (number := found[f"{side}n"]) is not None:
        return {"op": "literal", "value": number, "valueType": "long"}
    return _sql_column(found[f"{side}c"], "string")


def _sql_column(name: str, value_type: str) -> dict[str, Any]:
    return {"op": "column", "name": name, "valueType": value_type}


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))
