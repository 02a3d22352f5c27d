"""Portable SQL for the set-based writers: building and reading JSON, aggregating text, naming datasets.

SQLite and PostgreSQL spell these differently (json_object / jsonb_build_object, json_each /
jsonb_array_elements, group_concat / string_agg); each construct here compiles to the right spelling
so reconciliation is written once. Aggregates order their input on PostgreSQL; on SQLite they follow
the (deterministic) scan order, so the same data always gives the same JSON, which is what makes a
repeated reconciliation a no-op.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, Integer, String, and_, case, cast, column, func, literal, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from adc.register.types import Json, UTCDateTime


def _value(item: Any) -> ColumnElement:
    """A SQL expression for ``item``; Python values become typed literals (PostgreSQL needs the type)."""
    if isinstance(item, ColumnElement):
        return item
    if isinstance(item, bool):
        return cast(literal(item), Boolean)
    if isinstance(item, int):
        return cast(literal(item), Integer)
    return cast(literal(item), String)


class json_object(FunctionElement):  # noqa: N801 - reads as the SQL function it is
    """json_object('key', value, ...): keys are Python strings, values SQL expressions or Python values."""

    type = Json
    inherit_cache = True

    def __init__(self, **pairs: Any) -> None:
        self.keys = list(pairs)
        super().__init__(*(_value(v) for v in pairs.values()))


def _object_args(element: json_object, compiler, **kw) -> str:
    parts = []
    for key, value in zip(element.keys, element.clauses, strict=True):
        parts.append("'" + key.replace("'", "''") + "'")
        parts.append(compiler.process(value, **kw))
    return ", ".join(parts)


@compiles(json_object, "sqlite")
def _json_object_sqlite(element, compiler, **kw):
    return f"json_object({_object_args(element, compiler, **kw)})"


@compiles(json_object, "postgresql")
def _json_object_pg(element, compiler, **kw):
    return f"jsonb_build_object({_object_args(element, compiler, **kw)})"


class json_array(FunctionElement):  # noqa: N801
    type = Json
    inherit_cache = True

    def __init__(self, *items: Any) -> None:
        super().__init__(*(_value(v) for v in items))


@compiles(json_array, "sqlite")
def _json_array_sqlite(element, compiler, **kw):
    return f"json_array({compiler.process(element.clauses, **kw)})"


@compiles(json_array, "postgresql")
def _json_array_pg(element, compiler, **kw):
    return f"jsonb_build_array({compiler.process(element.clauses, **kw)})"


class json_agg(FunctionElement):  # noqa: N801
    """Aggregate values into a JSON array ([] for no rows), ordered by ``order_by`` on PostgreSQL."""

    type = Json
    inherit_cache = True

    def __init__(self, value: Any, order_by: ColumnElement | None = None) -> None:
        self.order_by = order_by
        super().__init__(_value(value), *([order_by] if order_by is not None else []))


@compiles(json_agg, "sqlite")
def _json_agg_sqlite(element, compiler, **kw):
    value = list(element.clauses)[0]
    return f"json_group_array({compiler.process(value, **kw)})"


@compiles(json_agg, "postgresql")
def _json_agg_pg(element, compiler, **kw):
    value, *order = list(element.clauses)
    order_sql = f" ORDER BY {compiler.process(order[0], **kw)}" if order else ""
    return f"coalesce(jsonb_agg({compiler.process(value, **kw)}{order_sql}), '[]'::jsonb)"


class text_agg(FunctionElement):  # noqa: N801
    """The distinct values joined with ', ' (sorted on PostgreSQL)."""

    type = String()
    inherit_cache = True

    def __init__(self, value: ColumnElement) -> None:
        super().__init__(value)


@compiles(text_agg, "sqlite")
def _text_agg_sqlite(element, compiler, **kw):
    # group_concat(DISTINCT x) only takes the default separator; replace() makes it ', '
    return f"replace(group_concat(DISTINCT {compiler.process(element.clauses, **kw)}), ',', ', ')"


@compiles(text_agg, "postgresql")
def _text_agg_pg(element, compiler, **kw):
    value = compiler.process(element.clauses, **kw)
    return f"string_agg(DISTINCT {value}, ', ' ORDER BY {value})"


class embed(FunctionElement):  # noqa: N801
    """A JSON column's value, embedded as JSON (not as a quoted string) inside json_object/json_array."""

    type = Json
    inherit_cache = True


@compiles(embed, "sqlite")
def _embed_sqlite(element, compiler, **kw):
    return f"json({compiler.process(element.clauses, **kw)})"


@compiles(embed, "postgresql")
def _embed_pg(element, compiler, **kw):
    return f"CAST({compiler.process(element.clauses, **kw)} AS JSONB)"


class json_bool(FunctionElement):  # noqa: N801
    """A SQL boolean as JSON true/false (SQLite would otherwise write 1/0)."""

    type = Json
    inherit_cache = True


@compiles(json_bool, "sqlite")
def _json_bool_sqlite(element, compiler, **kw):
    return f"json(CASE WHEN {compiler.process(element.clauses, **kw)} THEN 'true' ELSE 'false' END)"


@compiles(json_bool, "postgresql")
def _json_bool_pg(element, compiler, **kw):
    return f"to_jsonb(CAST({compiler.process(element.clauses, **kw)} AS BOOLEAN))"


class json_length(FunctionElement):  # noqa: N801
    """The length of a JSON array; 0 for NULL, JSON null or anything that is not an array."""

    type = Integer()
    inherit_cache = True


@compiles(json_length, "sqlite")
def _json_length_sqlite(element, compiler, **kw):
    value = compiler.process(element.clauses, **kw)
    return f"coalesce(CASE WHEN json_type({value}) = 'array' THEN json_array_length({value}) END, 0)"


@compiles(json_length, "postgresql")
def _json_length_pg(element, compiler, **kw):
    value = compiler.process(element.clauses, **kw)
    return f"coalesce(CASE WHEN jsonb_typeof({value}) = 'array' THEN jsonb_array_length({value}) END, 0)"


class _json_elements(FunctionElement):  # noqa: N801
    """The elements of the JSON array at key ``key`` of a JSON column (no rows when absent)."""

    inherit_cache = True

    def __init__(self, document: ColumnElement, key: str) -> None:
        self.key = key
        super().__init__(document)


@compiles(_json_elements, "sqlite")
def _json_elements_sqlite(element, compiler, **kw):
    path = '$."' + element.key.replace('"', '\\"') + '"'
    return f"json_each({compiler.process(element.clauses, **kw)}, '{path}')"


@compiles(_json_elements, "postgresql")
def _json_elements_pg(element, compiler, **kw):
    document = compiler.process(element.clauses, **kw)
    key = element.key.replace("'", "''")
    # jsonb_array_elements raises on a non-array: an absent key or JSON null yields no rows instead
    return (f"jsonb_array_elements(CASE WHEN jsonb_typeof({document} -> '{key}') = 'array' "
            f"THEN {document} -> '{key}' ELSE '[]'::jsonb END)")


def json_elements(document: ColumnElement, key: str):
    """A table-valued function over the array ``document[key]``: one row per element, column ``value``
    (typed JSON, so ``.c.value["name"].as_string()`` reads a member)."""
    return _json_elements(document, key).table_valued(column("value", Json))


def dataset_uri(namespace: ColumnElement, name: ColumnElement) -> ColumnElement:
    """SQL for DatasetId.uri: ARN namespaces join with ':', others with '/', an empty name is the namespace."""
    return case(
        (namespace.like("arn:%"), namespace + ":" + name),
        (name == "", namespace),
        else_=namespace + "/" + name,
    )


def covers(outer_namespace, outer_name, inner_namespace, inner_name) -> ColumnElement:
    """SQL for DatasetId.covers(): same namespace, and the outer name empty, equal, or a '/'-prefix.

    The prefix test is a byte-order range (inner > outer/ AND inner < outer0): the "C" collation of
    Name() makes it the same on PostgreSQL as on SQLite, and it can use an index on the inner side.
    """
    return and_(
        inner_namespace == outer_namespace,
        or_(
            outer_name == "",
            inner_name == outer_name,
            and_(inner_name > outer_name + "/", inner_name < outer_name + "0"),
        ),
    )


def parent_name(name: ColumnElement) -> ColumnElement:
    """SQL: ``name`` up to its last '/' ('' when it has none): the next name up that may cover it.

    From a dataset's name, parent_name repeated until '' gives every outer name ``covers`` accepts
    ('a//b': 'a/', 'a', ''). rtrim drops the last segment (the characters other than '/'), then the one
    '/' before it; the same SQL on SQLite and PostgreSQL.
    """
    upto_slash = func.rtrim(name, func.replace(name, "/", ""))
    return case((upto_slash == "", ""), else_=func.substr(upto_slash, 1, func.length(upto_slash) - 1))


def listed(text_column: ColumnElement, value: ColumnElement | str) -> ColumnElement:
    """SQL: ``value`` is one of the comma-separated items of ``text_column`` (e.g. special categories)."""
    haystack = "," + func.coalesce(text_column, "") + ","
    needle = f"%,{value},%" if isinstance(value, str) else "%," + value + ",%"
    return haystack.like(needle)


class scalar_text(FunctionElement):  # noqa: N801
    """A JSON string element (a json_elements value such as a partition key name) as SQL text."""

    type = String()
    inherit_cache = True


@compiles(scalar_text, "sqlite")
def _scalar_text_sqlite(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)  # json_each already gives the SQL value


@compiles(scalar_text, "postgresql")
def _scalar_text_pg(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} #>> '{{}}')"


class iso_timestamp(FunctionElement):  # noqa: N801
    """An ISO 8601 text with its offset (``datetime.isoformat()``, as staged in JSON) as the timestamp
    a UTCDateTime column holds: SQLite's UTC text (to the millisecond), PostgreSQL's timestamptz."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(iso_timestamp, "sqlite")
def _iso_timestamp_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m-%d %H:%M:%f', {compiler.process(element.clauses, **kw)})"


@compiles(iso_timestamp, "postgresql")
def _iso_timestamp_pg(element, compiler, **kw):
    return f"CAST({compiler.process(element.clauses, **kw)} AS TIMESTAMP WITH TIME ZONE)"
