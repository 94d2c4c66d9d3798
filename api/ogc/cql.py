"""CQL2 filters (OGC API – Features Part 3) to SQL with bound values, never string-built SQL.

``cql2`` (the Rust reference implementation's Python binding) parses CQL2 text or JSON and
gives back CQL2 JSON; this module walks that tree against a collection's public fields
(``api/ogc/fields.py``) and writes a WHERE fragment in which every value from the request is a
bound ``$n``. Names come only from the field table; anything else is a 400 that says why.

Supported (and declared in ``/ogc/conformance``): Basic CQL2 (comparisons, AND/OR/NOT,
IS NULL, string/number/boolean/date/timestamp literals), advanced comparisons (LIKE,
BETWEEN, IN), CASEI, property–property comparisons, the spatial functions (S_INTERSECTS,
S_WITHIN, … with WKT/GeoJSON/BBOX literals) and the array functions (A_CONTAINS, …). Not
supported, and refused by name: ACCENTI, the temporal functions (T_*), arithmetic and
custom functions.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cql2
import shapely
from shapely.geometry import shape

from api.ogc.fields import GEOMETRY, Field, by_name
from geo.errors import InvalidInputError
from geo.vocab import parse_member

MAX_FILTER_CHARS = 16_000
MAX_NODES = 500  # operators, properties and literals in one filter
MAX_LIST = 1_000  # values in one IN list or array literal
TEXT, JSON_LANG = "cql2-text", "cql2-json"
# The pre-standard name, which GDAL's OAPIF driver (3.6 to 3.12 at least) sends. Parsed as CQL2
# text, except that an ISO string compared with a date or timestamp is taken as one: the draft
# had no DATE(), and GDAL writes dates as plain strings.
DRAFT_TEXT = "cql-text"
LANGUAGES = (TEXT, JSON_LANG, DRAFT_TEXT)
# The CQL2 conformance classes this compiler implements (tested in tests/api/ogc/test_filtering.py).
CONFORMANCE = (
    "cql2-text", "cql2-json", "basic-cql2", "advanced-comparison-operators",
    "case-insensitive-comparison", "basic-spatial-functions", "basic-spatial-functions-plus",
    "spatial-functions", "property-property", "array-functions",
)  # fmt: skip

Bind = Callable[[Any], str]

_COMPARISONS = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_SPATIAL = {f"s_{name}": f"ST_{name.capitalize()}" for name in
            ("intersects", "disjoint", "contains", "within", "touches", "crosses", "overlaps",
             "equals")}  # fmt: skip
_ARRAYS = {"a_contains": "{a} @> {b}", "a_containedby": "{a} <@ {b}", "a_overlaps": "{a} && {b}",
           "a_equals": "({a} @> {b} AND {a} <@ {b})"}  # fmt: skip
_REFUSED = {
    "accenti": "ACCENTI is not supported (PostgreSQL's unaccent is not installed); CASEI is",
    **{op: "arithmetic is not supported in filters" for op in ("+", "-", "*", "/", "%", "^",
                                                               "div")},
}  # fmt: skip
_TYPES_SQL = {"string": "text", "integer": "bigint", "number": "float8", "date": "date",
              "timestamp": "timestamptz"}  # fmt: skip


def _refuse(message: str) -> InvalidInputError:
    return InvalidInputError(f"filter: {message}", field="filter")


@dataclass(frozen=True)
class Filter:
    """A parsed filter (CQL2 JSON) and the axis order of its geometry literals."""

    tree: Any
    lat_first: bool = False  # filter-crs EPSG:4326: literals are (lat, lon)
    draft: bool = False  # filter-lang cql-text: ISO strings compare with dates


def _parse_error(exc: Exception) -> InvalidInputError:
    """cql2's message is a caret diagram over several lines; keep where and what is expected."""
    text = str(exc)
    where = re.search(r"--> (\d+):(\d+)", text)
    expected = re.search(r"= (expected .*)", text)
    if where and expected:
        return _refuse(f"not valid CQL2 text at column {where.group(2)}: {expected.group(1)}")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "invalid")
    return _refuse(f"not valid CQL2: {first}")


def parse(text: str, lang: str, lat_first: bool = False) -> Filter:
    """``text`` in ``lang`` (cql2-text or cql2-json) as a :class:`Filter`, or a 400."""
    if len(text) > MAX_FILTER_CHARS:
        raise _refuse(f"{len(text):,} characters; at most {MAX_FILTER_CHARS:,}")
    if lang == JSON_LANG:
        try:
            _count_nodes(json.loads(text))
        except ValueError as exc:
            raise _refuse(f"not valid JSON: {exc}") from None
        try:
            tree = cql2.parse_json(text).to_json()
        except Exception as exc:  # cql2 raises plain Exception / ValueError for bad trees
            raise _refuse(f"not valid CQL2 JSON: {str(exc).splitlines()[0]}") from None
    else:
        try:
            tree = cql2.parse_text(text).to_json()
        except Exception as exc:
            raise _parse_error(exc) from None
        _count_nodes(tree)
    return Filter(tree, lat_first, draft=lang == DRAFT_TEXT)


def _count_nodes(tree: Any) -> None:
    count, stack = 0, [tree]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise _refuse(f"more than {MAX_NODES} terms; split the request or use bbox")
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            if len(node) > MAX_LIST:
                raise _refuse(f"a list of {len(node):,} values; at most {MAX_LIST:,}")
            stack.extend(node)


@dataclass(frozen=True)
class _Operand:
    sql: str
    type: str  # a FieldType, or "boolean"
    field: Field | None = None  # set when the operand is a property (possibly under CASEI)


class _Compiler:
    def __init__(self, fields: tuple[Field, ...], bind: Bind, chosen: Filter) -> None:
        self.fields = by_name(fields)
        self.names = sorted(f.name for f in fields)
        self.bind = bind
        self.lat_first = chosen.lat_first
        self.draft = chosen.draft

    # ---- predicates ---------------------------------------------------------------------
    def predicate(self, node: Any) -> str:
        if isinstance(node, bool):
            return "TRUE" if node else "FALSE"
        if not isinstance(node, dict) or "op" not in node:
            raise _refuse(f"expected a condition, got {_show(node)}")
        op, args = str(node["op"]).lower(), node.get("args") or []
        _arity(op, args)
        if op in ("and", "or"):
            return "(" + f" {op.upper()} ".join(self.predicate(a) for a in args) + ")"
        if op == "not":
            return f"(NOT {self.predicate(args[0])})"
        if op in _COMPARISONS:
            return self.comparison(op, args)
        if op == "like":
            value, pattern = self.operand(args[0]), self.operand(args[1])
            self._same("LIKE", value, pattern, ("string",))
            return f"({value.sql} LIKE {pattern.sql})"
        if op == "between":
            value = self.operand(args[0])
            low, high = (self.operand(a, coded=value.field) for a in args[1:])
            self._same("BETWEEN", value, low, ("integer", "number", "date", "timestamp"))
            self._same("BETWEEN", value, high, ("integer", "number", "date", "timestamp"))
            return f"({value.sql} BETWEEN {low.sql} AND {high.sql})"
        if op == "in":
            return self.membership(args)
        if op == "isnull":
            return f"({self.operand(args[0], any_type=True).sql} IS NULL)"
        if op in _SPATIAL:
            a, b = (self.geometry(x) for x in args)
            return f"{_SPATIAL[op]}({a}, {b})"
        if op in _ARRAYS:
            coded = next((f for f in map(self._plain_property, args) if f is not None), None)
            a, b = (self.array(x, coded) for x in args)
            return "(" + _ARRAYS[op].format(a=a, b=b) + ")"
        raise self._unsupported(op)

    def _unsupported(self, op: str) -> InvalidInputError:
        if op in _REFUSED:
            return _refuse(_REFUSED[op])
        if op.startswith("t_"):
            return _refuse(f"{op.upper()} is not supported; compare dates instead, e.g. "
                           "opened_on >= DATE('2024-01-01')")  # fmt: skip
        return _refuse(f"unknown or unsupported function {op!r}")

    def comparison(self, op: str, args: list[Any]) -> str:
        """``a op b``; a string compared with a coded property must be one of its codes."""
        left_field, right_field = (self._plain_property(a) for a in args)
        left = self.operand(args[0], coded=right_field)
        right = self.operand(args[1], coded=left_field)
        self._same(op, left, right, ("string", "integer", "number", "date", "timestamp",
                                     "boolean"))  # fmt: skip
        return f"({left.sql} {_COMPARISONS[op]} {right.sql})"

    def _plain_property(self, node: Any) -> Field | None:
        if isinstance(node, dict) and "property" in node:
            return self.property(str(node["property"]))
        return None

    def membership(self, args: list[Any]) -> str:
        value = self.operand(args[0])
        items = args[1] if isinstance(args[1], list) else [args[1]]
        if value.type not in _TYPES_SQL or value.type in ("date", "timestamp"):
            raise _refuse(f"IN needs a string or number property, not {value.type}")
        coded = self._plain_property(args[0])
        literals = [self._literal_of(value, item, coded) for item in items]
        sql_type = "float8" if value.type == "number" else _TYPES_SQL[value.type]
        return f"({value.sql} = ANY({self.bind(literals)}::{sql_type}[]))"

    # ---- operands -----------------------------------------------------------------------
    def property(self, name: str) -> Field:
        found = self.fields.get(name)
        if found is None:
            raise _refuse(f"unknown property {name!r}; queryables here: {', '.join(self.names)}")
        return found

    def operand(self, node: Any, coded: Field | None = None, any_type: bool = False
                ) -> _Operand:  # fmt: skip
        if isinstance(node, dict) and "property" in node:
            found = self.property(str(node["property"]))
            if found.type == "array" and not any_type:
                raise _refuse(f"{found.name} is an array; use an array function (A_CONTAINS …)")
            if found.type == "geometry" and not any_type:
                raise _refuse(f"{found.name} is a geometry; use a spatial function "
                              "(S_INTERSECTS …)")  # fmt: skip
            return _Operand(found.sql, found.type, found)
        if isinstance(node, dict) and str(node.get("op", "")).lower() == "casei":
            _arity("casei", node.get("args"))
            inner = self.operand(node["args"][0])
            if inner.type != "string":
                raise _refuse("CASEI takes a string")
            return _Operand(f"lower({inner.sql})", "string", inner.field)
        if isinstance(node, dict) and "op" in node:
            raise self._unsupported(str(node["op"]).lower())
        return self._literal(node, coded)

    def _literal(self, node: Any, coded: Field | None = None) -> _Operand:
        if isinstance(node, bool):
            return _Operand("TRUE" if node else "FALSE", "boolean")
        if isinstance(node, (int, float)):
            if not math.isfinite(node):
                raise _refuse("numbers must be finite")
            if float(node).is_integer() and abs(node) < 2**63:
                return _Operand(f"{self.bind(int(node))}::bigint", "integer")
            return _Operand(f"{self.bind(float(node))}::float8", "number")
        if isinstance(node, str) and self.draft and coded is not None and coded.type == "date":
            return self._literal({"date": node.partition("T")[0]})  # GDAL 3.6: '2024-01-01T'
        if isinstance(node, str) and self.draft and coded is not None and coded.type == "timestamp":
            return self._literal({"timestamp": node})
        if isinstance(node, str):
            value = self._code(coded, node) if coded is not None and coded.enum else node
            return _Operand(f"{self.bind(value)}::text", "string")
        if isinstance(node, dict) and "date" in node:
            return _Operand(f"{self.bind(_date(node['date']))}::date", "date")
        if isinstance(node, dict) and "timestamp" in node:
            return _Operand(f"{self.bind(_timestamp(node['timestamp']))}::timestamptz",
                            "timestamp")  # fmt: skip
        if isinstance(node, dict) and "interval" in node:
            raise _refuse("intervals need the temporal functions, which are not supported")
        raise _refuse(f"expected a property or a value, got {_show(node)}")

    def _literal_of(self, value: _Operand, item: Any, coded: Field | None) -> Any:
        """One IN item as a Python value of ``value``'s type (codes checked for enum fields)."""
        if isinstance(item, (dict, bool)):
            raise _refuse(f"IN lists hold strings or numbers, got {_show(item)}")
        self._same("IN", value, self._kind_of(item), ("string", "integer", "number"))
        if isinstance(item, str):
            return self._code(coded, item) if coded is not None and coded.enum else item
        if value.type == "integer":
            if not float(item).is_integer():
                raise _refuse(f"{_what(value)} is whole; {item} is not")
            return int(item)
        return float(item)

    @staticmethod
    def _kind_of(item: Any) -> _Operand:
        if isinstance(item, str):
            return _Operand("", "string")
        if isinstance(item, (int, float)) and math.isfinite(item):
            return _Operand("", "number")
        raise _refuse(f"IN lists hold strings or numbers, got {_show(item)}")

    def _same(self, op: str, left: _Operand, right: _Operand, allowed: tuple[str, ...]) -> None:
        numeric = {"integer", "number"}
        same = left.type == right.type or {left.type, right.type} <= numeric
        if not same:
            raise _refuse(f"{op.upper()} compares {_what(left)} with {_what(right)}")
        if left.type not in allowed:
            raise _refuse(f"{op.upper()} does not apply to {left.type} values")

    @staticmethod
    def _code(field: Field, raw: str) -> str:
        assert field.enum is not None
        try:
            return parse_member(field.enum, raw).value
        except ValueError:
            codes = ", ".join(m.value for m in field.enum)
            raise _refuse(f"{field.name} has no value {raw!r}; its values: {codes}") from None

    def geometry(self, node: Any) -> str:
        if isinstance(node, dict) and "property" in node:
            found = self.property(str(node["property"]))
            if found.type != "geometry":
                raise _refuse(f"{found.name} is not a geometry; spatial functions need "
                              f"{GEOMETRY}")  # fmt: skip
            return found.sql
        if isinstance(node, dict) and "bbox" in node:
            return self._bbox(node["bbox"])
        if isinstance(node, dict) and {"coordinates", "geometries"} & set(node):
            return self._geojson(node)
        raise _refuse(f"expected a geometry, got {_show(node)}")

    def _bbox(self, box: Any) -> str:
        if not isinstance(box, list) or len(box) not in (4, 6):
            raise _refuse("BBOX takes 4 numbers (or 6 with heights)")
        x0, y0, x1, y1 = (box[0], box[1], box[3], box[4]) if len(box) == 6 else box
        if self.lat_first:
            x0, y0, x1, y1 = y0, x0, y1, x1
        _check_position(x0, y0)
        _check_position(x1, y1)
        if x0 > x1 or y0 > y1:
            raise _refuse("BBOX must be minx, miny, maxx, maxy")
        values = ", ".join(f"{self.bind(float(v))}::float8" for v in (x0, y0, x1, y1))
        return f"ST_MakeEnvelope({values}, 4326)"

    def _geojson(self, node: dict[str, Any]) -> str:
        try:
            geom = shape(node)
        except Exception as exc:  # shapely raises several types for malformed GeoJSON
            raise _refuse(f"not a valid geometry: {exc}") from None
        if geom.is_empty:
            raise _refuse("an empty geometry matches nothing; leave the condition out")
        if not geom.is_valid:  # PostGIS would answer, but not what was meant
            raise _refuse(f"not a valid geometry: {shapely.is_valid_reason(geom)}")
        if self.lat_first:
            geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
        for x, y in shapely.get_coordinates(geom):
            _check_position(x, y)
        return f"ST_GeomFromWKB({self.bind(shapely.to_wkb(geom))}::bytea, 4326)"

    def array(self, node: Any, coded: Field | None) -> str:
        if isinstance(node, dict) and "property" in node:
            found = self.property(str(node["property"]))
            if found.type != "array":
                arrays = ", ".join(n for n, f in self.fields.items() if f.type == "array")
                raise _refuse(f"{found.name} is not an array; array functions need {arrays}")
            return found.sql
        if isinstance(node, list):
            items = [str(item) if isinstance(item, str) else None for item in node]
            if None in items:
                raise _refuse("array literals here hold strings, e.g. ('toilet', 'microwave')")
            if coded is not None and coded.enum is not None:
                items = [self._code(coded, item) for item in items if item is not None]
            return f"{self.bind(items)}::text[]"
        raise _refuse(f"expected an array property or a list, got {_show(node)}")


_ARITY = {"not": 1, "isnull": 1, "like": 2, "in": 2, "between": 3, "casei": 1,
          **dict.fromkeys(_COMPARISONS, 2), **dict.fromkeys(_SPATIAL, 2),
          **dict.fromkeys(_ARRAYS, 2)}  # fmt: skip


def _arity(op: str, args: Any) -> None:
    """cql2 checks most trees; this keeps a malformed one a 400, never an IndexError."""
    if not isinstance(args, list):
        raise _refuse(f"{op.upper()} needs a list of arguments")
    wanted = _ARITY.get(op)
    if (wanted is not None and len(args) != wanted) or (op in ("and", "or") and len(args) < 2):
        raise _refuse(f"{op.upper()} takes {wanted or 'two or more'} arguments, got {len(args)}")


def _check_position(x: Any, y: Any) -> None:
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (x, y)):
        raise _refuse("coordinates must be finite numbers")
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        raise _refuse(f"({x}, {y}) is not a longitude/latitude in CRS84; coordinates are "
                      "lon, lat (or lat, lon with filter-crs EPSG:4326)")  # fmt: skip


def _date(text: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise _refuse(f"DATE({text!r}) is not a date (YYYY-MM-DD)") from None


def _timestamp(text: Any) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(text).replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise _refuse(f"TIMESTAMP({text!r}) is not an RFC 3339 date-time") from None
    if moment.tzinfo is None:
        raise _refuse(f"TIMESTAMP({text!r}) needs a time zone (Z for UTC)")
    return moment


def _what(operand: _Operand) -> str:
    return f"{operand.field.name} ({operand.type})" if operand.field else f"a {operand.type}"


def _show(node: Any) -> str:
    text = json.dumps(node, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def compile_filter(chosen: Filter, fields: tuple[Field, ...], bind: Bind) -> str:
    """The WHERE fragment for ``chosen`` over ``fields``; values go through ``bind``."""
    return _Compiler(fields, bind, chosen).predicate(chosen.tree)
