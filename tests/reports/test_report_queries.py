"""Snapshot builds run with PostgreSQL's JIT and nested loops off, and give them back."""

import pytest
from django.db import connection

from reports.metrics.common import report_queries


def setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db
def test_report_queries_turn_jit_and_nested_loops_off_inside_and_restore_them_after():
    before = (setting("jit"), setting("enable_nestloop"))

    with report_queries():
        inside = (setting("jit"), setting("enable_nestloop"))

    assert inside == ("off", "off")
    assert (setting("jit"), setting("enable_nestloop")) == before


@pytest.mark.postgres
@pytest.mark.django_db
def test_report_queries_restore_the_settings_when_the_block_raises():
    with pytest.raises(ValueError), report_queries():
        raise ValueError("build failed")

    assert setting("enable_nestloop") == "on"
