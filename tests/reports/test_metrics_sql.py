"""The SQL fragment type: text and named parameters travel together (no database needed)."""

from datetime import datetime

import pytest

from reports.metrics.common import bucket_case, in_list
from reports.metrics.sql import EMPTY, Sql


def test_a_fragment_keeps_its_parameters_when_composed_into_a_template():
    where = Sql(" AND e.source = %(source)s", {"source": "menu"})

    query = Sql("SELECT 1 FROM t e WHERE e.ts < %(end)s{where}", {"end": 5}).format(where=where)

    assert query.text == "SELECT 1 FROM t e WHERE e.ts < %(end)s AND e.source = %(source)s"
    assert query.params == {"end": 5, "source": "menu"}


def test_moving_a_fragment_moves_its_parameters_with_it():
    first = Sql("a = %(a)s", {"a": 1})
    second = Sql("b = %(b)s", {"b": 2})

    one_way = Sql("{x} AND {y}").format(x=first, y=second)
    other_way = Sql("{x} AND {y}").format(x=second, y=first)

    assert one_way.params == other_way.params == {"a": 1, "b": 2}
    assert other_way.text == "b = %(b)s AND a = %(a)s"


def test_one_name_with_one_value_in_two_fragments_is_one_parameter():
    since = Sql("e.ts >= %(start)s", {"start": 10})

    query = Sql("{a} OR {b}").format(a=since, b=since)

    assert query.params == {"start": 10}


def test_one_name_given_two_values_is_refused():
    with pytest.raises(ValueError, match="start"):
        Sql("{a} AND {b}").format(a=Sql("x >= %(start)s", {"start": 1}), b=Sql("y >= %(start)s", {"start": 2}))


def test_values_that_python_calls_equal_but_the_database_does_not_are_a_clash():
    with pytest.raises(ValueError, match="flag"):
        Sql("{a} AND {b}").format(a=Sql("x = %(flag)s", {"flag": 1}), b=Sql("y = %(flag)s", {"flag": True}))


def test_concatenation_and_join_merge_parameters():
    a = Sql("x = %(a)s", {"a": 1})
    b = Sql(" AND y = %(b)s", {"b": 2})

    assert (a + b).params == {"a": 1, "b": 2}
    assert Sql.join(" UNION ALL ", [a, Sql("z = %(c)s", {"c": 3})]).text == "x = %(a)s UNION ALL z = %(c)s"
    assert (a + EMPTY) == a


def test_a_positional_placeholder_is_refused():
    with pytest.raises(ValueError, match="Bare %"):
        Sql("e.ts < %s")


def test_a_literal_percent_sign_is_written_twice():
    assert Sql("e.page LIKE '/shop%%'").text == "e.page LIKE '/shop%%'"
    with pytest.raises(ValueError, match="Bare %"):
        Sql("e.page LIKE '/shop%'")


def test_a_placeholder_without_a_value_is_refused():
    with pytest.raises(ValueError, match="without a value: end"):
        Sql("e.ts < %(end)s")


def test_a_value_without_a_placeholder_is_refused():
    with pytest.raises(ValueError, match="without a placeholder: end"):
        Sql("e.ts < %(start)s", {"start": 1, "end": 2})


def test_a_part_the_template_does_not_use_is_refused():
    with pytest.raises(ValueError, match="not in the template: where"):
        Sql("SELECT 1").format(where=Sql(" AND a = %(a)s", {"a": 1}))


def test_plain_text_parts_carry_no_parameters():
    query = Sql("WITH x AS {materialized}(SELECT 1)").format(materialized="MATERIALIZED ")

    assert query.text == "WITH x AS MATERIALIZED (SELECT 1)"
    assert query.params == {}


def test_parameters_cannot_be_changed_after_the_fact():
    fragment = Sql("a = %(a)s", {"a": 1})

    with pytest.raises(TypeError):
        fragment.params["a"] = 2  # type: ignore[index]


def test_lists_and_buckets_name_each_value_after_their_prefix():
    names = in_list(["follow", "unfollow"], "name")
    bounds = [datetime(2025, 1, day) for day in (1, 2, 3)]

    assert names.text == "(%(name_0)s, %(name_1)s)"
    assert names.params == {"name_0": "follow", "name_1": "unfollow"}
    assert in_list([], "name") == Sql("(NULL)")
    assert set(bucket_case("e.ts", bounds, "day").params) == {"day_0", "day_1", "day_2"}
