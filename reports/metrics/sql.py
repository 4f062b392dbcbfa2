"""SQL that carries its own parameters: the one way a metric query is written.

A `Sql` is text with named placeholders (`%(start)s`) and the values of exactly those
names. Fragments are composed by name (`Sql.format`, psycopg's `sql.SQL.format` idiom):
the template's `{where}` takes a fragment's text, and the fragment's parameters travel
with it. Moving a CTE therefore moves its parameters; nothing is matched by position.

Checked when a `Sql` is made, so a mistake fails where it is written, not as a wrong
number:
- every `%(name)s` has a value and every value a placeholder;
- a bare `%` (a positional `%s`, a stray percent sign) is refused: write `%%` for a
  literal percent sign, as both drivers expect once parameters are given;
- composing two fragments that give one name different values is refused (the same name
  with the same value, such as the period's `start`, is one parameter).

Both PostgreSQL (psycopg) and Django's SQLite backend take `%(name)s` with a dict (Django
rewrites it to SQLite's `:name`), so one text serves the production and demo databases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from string import Formatter
from types import MappingProxyType
from typing import Any

from django.db import connection
from django.db.models import Model

from wxanalytics.replica import reports_connection

# `%(name)s`, `%%`, or a bare `%` (which no placeholder of ours may be).
_PERCENT = re.compile(r"%(?:\((?P<name>[A-Za-z_][A-Za-z0-9_]*)\)s|(?P<escaped>%))?")


def _same(a: Any, b: Any) -> bool:
    # 1 == True and 1 == 1.0 in Python but not to the database: equal values of one type only.
    return a is b or (type(a) is type(b) and a == b)


def _merge(*mappings: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for mapping in mappings:
        for name, value in mapping.items():
            if name in merged and not _same(merged[name], value):
                raise ValueError(
                    f"SQL parameter %({name})s is given two values ({merged[name]!r} and {value!r}); "
                    "rename one of them."
                )
            merged[name] = value
    return merged


@dataclass(frozen=True)
class Sql:
    """Text with `%(name)s` placeholders and the value of each name."""

    text: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        used = set()
        for match in _PERCENT.finditer(self.text):
            if match["name"]:
                used.add(match["name"])
            elif not match["escaped"]:
                at = match.start()
                raise ValueError(
                    f"Bare % in SQL near {self.text[max(at - 30, 0) : at + 10]!r}: "
                    "write %(name)s for a parameter, %% for a percent sign."
                )
        if missing := used - set(self.params):
            raise ValueError(f"SQL placeholders without a value: {', '.join(sorted(missing))}.")
        if unused := set(self.params) - used:
            raise ValueError(f"SQL parameters without a placeholder: {', '.join(sorted(unused))}.")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def format(self, **parts: Sql | str) -> Sql:
        """This text with each `{name}` replaced by `parts[name]`: a fragment (its parameters
        join ours) or plain SQL text without parameters (a vendor expression, a table name).
        Literal braces are written `{{` and `}}`, as in `str.format`."""
        wanted = {name for _, name, _, _ in Formatter().parse(self.text) if name is not None}
        if unused := set(parts) - wanted:
            # Its parameters would join the query's without its text: refuse rather than
            # let another fragment's placeholder pick them up.
            raise ValueError(f"SQL parts not in the template: {', '.join(sorted(unused))}.")
        fragments = {name: part if isinstance(part, Sql) else Sql(part) for name, part in parts.items()}
        text = self.text.format_map({name: fragment.text for name, fragment in fragments.items()})
        return Sql(text, _merge(self.params, *(fragment.params for fragment in fragments.values())))

    def __add__(self, other: Sql) -> Sql:
        return Sql(self.text + other.text, _merge(self.params, other.params))

    @staticmethod
    def join(separator: str, parts: Iterable[Sql]) -> Sql:
        parts = list(parts)
        return Sql(separator.join(p.text for p in parts), _merge(*(p.params for p in parts)))

    def fetch(self) -> list[tuple]:
        """Run it where report reads go (the replica inside `reading_reports()`)."""
        with reports_connection().cursor() as cursor:
            cursor.execute(self.text, dict(self.params))
            return cursor.fetchall()

    def fetch_dicts(self) -> list[dict[str, Any]]:
        with reports_connection().cursor() as cursor:
            cursor.execute(self.text, dict(self.params))
            names = [col[0] for col in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


EMPTY = Sql("")


def table(model: type[Model]) -> str:
    """The model's table, quoted for this database: `FROM {events} e` stays right when a
    model's `db_table` changes."""
    return connection.ops.quote_name(model._meta.db_table)
