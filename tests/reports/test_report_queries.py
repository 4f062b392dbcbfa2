"""Snapshot builds run with PostgreSQL's JIT, nested loops and merge joins off and more
work_mem, and give them back."""

import pytest
from django.db import connection

from reports.metrics.common import report_queries


def setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db
def test_report_queries_turn_jit_nested_loops_and_merge_joins_off_inside_and_restore_them_after():
    names = ("jit", "enable_nestloop", "enable_mergejoin", "work_mem")
    before = tuple(setting(name) for name in names)

    with report_queries():
        inside = tuple(setting(name) for name in names)

    assert inside == ("off", "off", "off", "16MB")
    assert tuple(setting(name) for name in names) == before


@pytest.mark.postgres
@pytest.mark.django_db
def test_report_queries_restore_the_settings_when_the_block_raises():
    with pytest.raises(ValueError), report_queries():
        raise ValueError("build failed")

    assert setting("enable_nestloop") == "on"
