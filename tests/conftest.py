"""Narrative fixtures shared by all tests: the people and a campaign with placements.

App-specific fixtures live in tests/<app>/conftest.py.
"""

import pytest
from django.conf import settings


def pytest_collection_modifyitems(config, items):
    if settings.IS_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL); make test uses it when reachable")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def make_user(db, django_user_model):
    """A staff user in the given groups (groups come from the roles migration)."""
    from django.contrib.auth.models import Group

    def make(username: str, *groups: str, **extra):
        user = django_user_model.objects.create_user(
            username=username, password="pw-" + username, is_staff=True, email=f"{username}@example.com", **extra
        )
        for name in groups:
            user.groups.add(Group.objects.get(name=name))
        return user

    return make


@pytest.fixture
def marketer(make_user):
    return make_user("mia", "Marketer")


@pytest.fixture
def analyst(make_user):
    return make_user("ann", "Analyst")


@pytest.fixture
def review_owner(make_user):
    return make_user("rob", "Review owner")


@pytest.fixture
def campaign(db, marketer):
    from campaigns.models import Campaign

    return Campaign.objects.create(
        code="23Q4-Sale", name="Q4 sale", status=Campaign.Status.ACTIVE, owner=marketer, utm_source="wechat"
    )
