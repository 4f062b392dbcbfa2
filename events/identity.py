"""Identity (E6): join the ids of one person so reports count people, not ids.

A person is a group of `Identity` rows sharing a `person_id`. An id with no row is a
person of its own, so reports use COALESCE(identity.person_id, event.user_id).

Rules (docs/wechat.md "Identity"):
- A unionid link (`properties.unionid` on an event, or `{"unionid": …}` at /api/v1/identify)
  puts the id into the unionid's group, and the group's person_id becomes the unionid.
- An alias link (`{"alias": …}`) joins two groups. The surviving person_id is the one of a
  group already keyed by a unionid; otherwise the person_id of `user_id`'s group (or
  `user_id` itself when it is new).
- Merging moves every id of the losing group in one UPDATE, so no id is left behind.
Merges take a transaction-level advisory lock so two merges never interleave; the common
case (the link is already known) is answered from one read without the lock.

Who may say so (issue 13): `link` is for facts, from server keys and WeChat's own answers
(user info, the Pay payer). A client key ships inside the Mini Program, so what it sends is
a *claim* (`claim`): it may give a unionid to an id whose person has none, and add an id
nobody knows yet to a person; it never merges two people we already know of, nor moves an
id that already has a unionid to another one.
"""

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from events import people
from events.models import Event, Identity
from wxanalytics.locks import advisory_xact_lock
from wxanalytics.text import is_storable

logger = logging.getLogger(__name__)

MAX_ID_LENGTH = 128
# The advisory lock (wxanalytics.locks) every change of who-is-whom holds.
MERGE_LOCK = "events.identity_merges"
_SQL_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class IdentityError(ValueError):
    """A link request that cannot be applied (empty or over-long ids, linking an id to itself)."""


class ClaimRefused(IdentityError):
    """A client key's link that would merge two known people or move an id that has a
    unionid: only a server key or WeChat may say that."""


@dataclass(frozen=True)
class LinkResult:
    person_id: str
    moved: int  # ids that changed person (0 when the link was already known)
    created: int  # ids seen for the first time


def check_id(name: str, value: Any) -> str:
    """`value` stripped, or IdentityError naming `name` when it is not a usable id."""
    if not isinstance(value, str) or not value.strip():
        raise IdentityError(gettext_noop("%(name)s is required and must be a non-empty string.") % {"name": name})
    value = value.strip()
    if len(value) > MAX_ID_LENGTH:
        raise IdentityError(
            gettext_noop("%(name)s is longer than %(limit)s characters.") % {"name": name, "limit": MAX_ID_LENGTH}
        )
    if not is_storable(value):
        raise IdentityError(gettext_noop("%(name)s contains a NUL character or invalid Unicode.") % {"name": name})
    return value


def lock_merges() -> None:
    """Hold the identity-merge lock until the transaction ends: whatever changes or removes
    Identity rows (a link, a claim, an erasure) takes it, so no two interleave."""
    advisory_xact_lock(MERGE_LOCK)


def _keyed_by_unionid(person_id: str) -> bool:
    return Identity.objects.filter(person_id=person_id, linked_by=Identity.LinkedBy.UNIONID).exists()


def link(user_id: str, *, alias: str | None = None, unionid: str | None = None, app_id: str = "") -> LinkResult:
    """Record that `user_id` and `alias` (or `unionid`) belong to one person; merge groups if needed."""
    user_id = check_id("user_id", user_id)
    if (alias is None) == (unionid is None):
        raise IdentityError(gettext_noop("Send exactly one of alias or unionid."))
    by_unionid = unionid is not None
    other = check_id("unionid" if by_unionid else "alias", unionid if by_unionid else alias)
    if other == user_id and not by_unionid:
        raise IdentityError(gettext_noop("alias must differ from user_id."))
    app_id = (app_id or "")[:32]

    if by_unionid:
        known = Identity.objects.filter(user_id=user_id).values_list("person_id", flat=True).first()
        if known == other:
            return LinkResult(person_id=other, moved=0, created=0)

    with transaction.atomic():
        lock_merges()
        current = dict(Identity.objects.filter(user_id__in={user_id, other}).values_list("user_id", "person_id"))
        person_of_user = current.get(user_id, user_id)
        person_of_other = current.get(other, other)
        if by_unionid:
            winner = other
        elif _keyed_by_unionid(person_of_user) or not _keyed_by_unionid(person_of_other):
            winner = person_of_user
        else:
            winner = person_of_other

        losers = {person_of_user, person_of_other} - {winner}
        moved = 0
        changed = set()
        if losers:
            losing = Identity.objects.filter(person_id__in=losers)
            changed = set(losing.values_list("user_id", flat=True)) | losers
            moved = losing.update(person_id=winner, updated_at=timezone.now())

        linked_by = Identity.LinkedBy.UNIONID if by_unionid else Identity.LinkedBy.ALIAS
        new_rows = [
            Identity(user_id=uid, person_id=winner, app_id=app_id if uid == user_id else "", linked_by=linked_by)
            for uid in dict.fromkeys((user_id, other))
            if uid not in current
        ]
        if by_unionid and user_id in current:
            Identity.objects.filter(user_id=user_id).update(linked_by=linked_by)
        Identity.objects.bulk_create(new_rows)
        people.note_changed(changed | {row.user_id for row in new_rows if row.user_id != winner})
    return LinkResult(person_id=winner, moved=moved, created=len(new_rows))


def claim(user_id: str, *, alias: str | None = None, unionid: str | None = None, app_id: str = "") -> LinkResult:
    """A link sent with a client key: applied only when it adds to what is known.

    - `unionid`: accepted when `user_id`'s person has no unionid yet (then the person takes
      it, and joins the unionid's person if there is one: that is what a unionid says).
      Refused when the person already has another unionid, or when the unionid is a plain
      member of a person keyed otherwise.
    - `alias`: accepted when at most one of the two ids is known (the new one joins the
      known one's person; nobody else's person changes). Refused when both are known as
      two different people.
    Raises ClaimRefused (with the reason) or IdentityError for malformed ids.
    """
    user_id = check_id("user_id", user_id)
    if (alias is None) == (unionid is None):
        raise IdentityError(gettext_noop("Send exactly one of alias or unionid."))
    other = check_id("unionid" if unionid is not None else "alias", unionid if unionid is not None else alias)
    if other == user_id and unionid is None:
        raise IdentityError(gettext_noop("alias must differ from user_id."))
    with transaction.atomic():
        lock_merges()
        current = dict(Identity.objects.filter(user_id__in={user_id, other}).values_list("user_id", "person_id"))
        if unionid is not None:
            if current.get(user_id) == other:
                return LinkResult(person_id=other, moved=0, created=0)
            if user_id in current and _keyed_by_unionid(current[user_id]):
                raise ClaimRefused(
                    gettext_noop(
                        "%(user_id)s already belongs to a person with a unionid; only a server key can change it."
                    )
                    % {"user_id": user_id}
                )
            if current.get(other, other) != other:
                raise ClaimRefused(
                    gettext_noop("%(other)s already belongs to another person; only a server key can merge them.")
                    % {"other": other}
                )
            return link(user_id, unionid=other, app_id=app_id)
        if user_id in current and other in current:
            if current[user_id] == current[other]:
                return LinkResult(person_id=current[user_id], moved=0, created=0)
            raise ClaimRefused(
                gettext_noop("%(user_id)s and %(other)s are two known people; only a server key can merge them.")
                % {"user_id": user_id, "other": other}
            )
        if not current:
            return link(user_id, alias=other, app_id=app_id)
        # One id is known: the other joins its person, and no known id changes person.
        known, new = (user_id, other) if user_id in current else (other, user_id)
        person = current[known]
        Identity.objects.create(
            user_id=new, person_id=person, app_id=(app_id or "")[:32] if new == user_id else "",
            linked_by=Identity.LinkedBy.ALIAS,
        )  # fmt: skip
        people.note_changed([new])
        return LinkResult(person_id=person, moved=0, created=1)


def unionid_pairs(rows: Iterable[dict[str, Any]]) -> dict[str, str]:
    """{user_id: unionid} for rows that carry a unionid (top-level or in properties)."""
    pairs: dict[str, str] = {}
    for row in rows:
        properties = row.get("properties") if isinstance(row.get("properties"), dict) else {}
        unionid = row.get("unionid") or properties.get("unionid")
        user_id = row.get("user_id")
        if not (isinstance(unionid, str) and isinstance(user_id, str)):
            continue
        unionid, user_id = unionid.strip(), user_id.strip()
        if not (unionid and user_id and len(unionid) <= MAX_ID_LENGTH and len(user_id) <= MAX_ID_LENGTH):
            continue
        if is_storable(unionid) and is_storable(user_id):
            pairs[user_id] = unionid
    return pairs


def link_unionids_from_rows(rows: Iterable[dict[str, Any]], *, authoritative: bool = True) -> int:
    """Link every user_id → unionid carried by ingested rows; returns how many links were new.

    One read finds the links already known, so a batch of events from known users costs a
    single query. New users (the common case) are inserted in one bulk INSERT; only ids
    that already belong to another group go through `link` one by one to merge, or through
    `claim` when the rows came with a client key (`authoritative=False`): a refused claim
    is logged and the events stay stored.
    """
    pairs = unionid_pairs(rows)
    if not pairs:
        return 0
    known = dict(Identity.objects.filter(user_id__in=list(pairs)).values_list("user_id", "person_id"))
    todo = {user_id: unionid for user_id, unionid in pairs.items() if known.get(user_id) != unionid}
    if not todo:
        return 0
    with transaction.atomic():
        lock_merges()
        existing = dict(
            Identity.objects.filter(user_id__in={*todo, *todo.values()}).values_list("user_id", "person_id")
        )
        # A new user_id whose unionid is new or still its own person: plain inserts, no merge.
        unionids = set(todo.values())
        simple = {
            u: union
            for u, union in todo.items()
            if u not in existing
            and existing.get(union, union) == union
            and (u == union or (u not in unionids and union not in todo))  # ids that are both: merge path
        }
        unionid_rows = {union for union in simple.values() if union not in existing} - set(simple)
        Identity.objects.bulk_create(
            [Identity(user_id=u, person_id=union, linked_by=Identity.LinkedBy.UNIONID) for u, union in simple.items()]
            + [Identity(user_id=union, person_id=union, linked_by=Identity.LinkedBy.UNIONID) for union in unionid_rows]
        )
        people.note_changed(u for u, union in simple.items() if u != union)
        refused = 0
        for user_id, unionid in todo.items():
            if user_id in simple:
                continue
            if authoritative:
                link(user_id, unionid=unionid)
                continue
            try:
                claim(user_id, unionid=unionid)
            except ClaimRefused as exc:
                refused += 1
                logger.info("unionid claim from a client key refused: %s", exc)
                # The ingest write took the carried unionid as the person: put it back.
                people.note_changed([user_id])
    return len(todo) - refused


def link_unionids_from_events(*, since: datetime, chunk_size: int = 5000) -> int:
    """Link the unionids carried by events received since `since` (a backfill for paths
    that did not link at ingest time). Reads in chunks; returns how many links were new."""
    carried = (
        Event.objects.filter(received_at__gte=since, properties__has_key="unionid")
        .values_list("user_id", "properties__unionid")
        .iterator(chunk_size=chunk_size)
    )
    linked, chunk = 0, []
    for user_id, unionid in carried:
        chunk.append({"user_id": user_id, "unionid": unionid})
        if len(chunk) >= chunk_size:
            linked += link_unionids_from_rows(chunk)
            chunk = []
    return linked + link_unionids_from_rows(chunk)


def person_of(user_id: str) -> str:
    """The person an id belongs to (the id itself when it was never linked)."""
    return Identity.objects.filter(user_id=user_id).values_list("person_id", flat=True).first() or user_id


@dataclass(frozen=True)
class PersonSQL:
    """Raw SQL pieces: put `join` after `FROM events_event AS e`, then use `expression`."""

    join: str
    expression: str


def person_sql(alias: str = "e", *, identity_alias: str | None = None) -> PersonSQL:
    """The person behind an event in report SQL: the person stored on the row
    (events.people keeps it equal to COALESCE(identity.person_id, user_id)), so no join is
    needed any more; `join` stays empty for the callers that still place it."""
    for name in (alias, identity_alias or alias):
        if not _SQL_IDENTIFIER.match(name):
            raise ValueError(f"{name!r} is not a plain SQL identifier.")
    return PersonSQL(join="", expression=f"COALESCE({alias}.person_id, {alias}.user_id)")
