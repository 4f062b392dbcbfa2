"""Who may do what with review entries — the one place admin, API and page ask.

Decision: the review is a team ritual, so everyone who may view entries (Analysts, Review
owners, superusers) reads all of them. Writing is personal: a review owner adds entries only
as themself and changes or deletes only their own; analysts read and never write; superusers
may do anything, including logging an entry on someone's behalf.
"""

from typing import Any

REVIEW_OWNER_GROUP = "Review owner"


def can_view_entries(user: Any) -> bool:
    return bool(user.is_active and user.has_perm("reports.view_reviewentry"))


def can_add_entry(user: Any) -> bool:
    return bool(user.is_active and user.has_perm("reports.add_reviewentry"))


def can_change_entry(user: Any, entry: Any = None) -> bool:
    """`entry=None` asks "may change some entries" (admin shows the change form at all)."""
    if not (user.is_active and user.has_perm("reports.change_reviewentry")):
        return False
    return entry is None or user.is_superuser or entry.owner_id == user.pk


def can_delete_entry(user: Any, entry: Any = None) -> bool:
    if not (user.is_active and user.has_perm("reports.delete_reviewentry")):
        return False
    return entry is None or user.is_superuser or entry.owner_id == user.pk


def can_choose_owner(user: Any) -> bool:
    """Only superusers log entries for someone else; everyone else is the owner of what they add."""
    return bool(user.is_active and user.is_superuser)
