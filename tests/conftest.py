"""Narrative fixtures shared by all tests: the people and a campaign with placements.

App-specific fixtures live in tests/<app>/conftest.py.
"""

import os

import pytest
from django.conf import settings

# The site is Chinese first (LANGUAGE_CODE defaults to zh-hans); the suite's assertions are
# written against the English source strings, so tests run in English unless they ask for
# Chinese (tests/test_i18n.py does). Worker processes started by tests inherit this.
os.environ["LANGUAGE_CODE"] = "en"


@pytest.fixture(autouse=True)
def english_unless_asked(settings):
    settings.LANGUAGE_CODE = "en"


def pytest_collection_modifyitems(config, items):
    if settings.IS_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL); make test uses it when reachable")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _group_commit_closed_before_the_test_database_is_dropped(django_db_setup):
    """Transactional tests' single events go through the group committer, whose thread keeps
    a connection to the test database; DROP DATABASE refuses while it is open."""
    yield
    from events.ingest.write import stop_group_commit

    stop_group_commit()


@pytest.fixture
def client():
    """Django's test client through the production handler's dispatch: the event API and
    short links take their short middleware chain (wxanalytics/hot_paths.py), as under
    gunicorn; every other page the whole one."""
    from django.test import Client
    from django.test.client import ClientHandler

    from wxanalytics.hot_paths import HotPathMixin

    class HotPathClientHandler(HotPathMixin, ClientHandler):
        pass

    client = Client()
    client.handler = HotPathClientHandler(enforce_csrf_checks=False)
    return client


@pytest.fixture
def make_user(db, django_user_model):
    """A staff user in the given groups (groups come from the roles migration)."""
    from django.contrib.auth.models import Group

    def make(username: str, *groups: str, **extra):
        user = django_user_model.objects.create_user(
            username=username, password="pw-" + username, is_staff=True, email=f"{username}@example.com", **extra
        )
        if groups and Group.objects.filter(name__in=groups).count() < len(set(groups)):
            # A transactional test before this one flushed the tables; with serialized
            # rollback that flush skips post_migrate, which re-creates the role groups.
            from wxanalytics.roles import sync_role_groups

            sync_role_groups()
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
