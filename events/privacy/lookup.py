"""Who a person is: every id that belongs to them, found from any one of them."""

import re
from dataclasses import dataclass

from django.db.models import Q

from events.identity import check_id
from events.models import Event, Identity, RejectedRow, UnionidLookup

# Characters of WeChat ids (openid, unionid: letters, digits, '-' and '_'). A rejected
# row mentions an id when the id appears with none of these on either side, so "o6_b"
# does not match inside "o6_bmjrPTl…".
_ID_CHARACTER = "A-Za-z0-9_-"


@dataclass(frozen=True)
class Person:
    """The ids of one person: the id asked about, the person ids (unionids) of the groups
    it belongs to, and every id linked to those groups (openids of each app, aliases)."""

    asked: str
    ids: tuple[str, ...]

    def __str__(self) -> str:
        return f"person with {len(self.ids)} id(s)"


def find_person(any_id: str) -> Person:
    """The person behind an openid, unionid, alias or user_id (two queries).

    Raises events.identity.IdentityError for an empty or over-long id. An id never linked is a person
    of its own (reports count it so too).
    """
    asked = check_id("id", any_id)
    groups = set(Identity.objects.filter(Q(user_id=asked) | Q(person_id=asked)).values_list("person_id", flat=True))
    linked = set(Identity.objects.filter(person_id__in=groups).values_list("user_id", flat=True)) if groups else set()
    return Person(asked=asked, ids=tuple(sorted({asked, *groups, *linked})))


def mentions(ids: tuple[str, ...]) -> Q:
    """Rejected rows whose raw text contains one of `ids` as a whole id (JSON, CSV or XML)."""
    pattern = "|".join(re.escape(value) for value in ids)
    boundary = f"[^{_ID_CHARACTER}]"
    # PostgreSQL's regular expressions read Python's escapes the same way (a backslash
    # before punctuation is that character), and SQLite's REGEXP is Python's re.
    return Q(raw__regex=f"(^|{boundary})({pattern})($|{boundary})")


def identities_of(person: Person):
    return Identity.objects.filter(Q(user_id__in=person.ids) | Q(person_id__in=person.ids))


def events_of(person: Person):
    # event_user_ts serves this on every monthly partition.
    return Event.objects.filter(user_id__in=person.ids)


def rejected_rows_of(person: Person):
    return RejectedRow.objects.filter(mentions(person.ids))


def unionid_lookups_of(person: Person):
    # A scan of a small table (followers WeChat gave no unionid for): its index leads with app_id.
    return UnionidLookup.objects.filter(openid__in=person.ids)
