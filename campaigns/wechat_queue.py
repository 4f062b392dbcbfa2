"""WeChat codes for many placements at once: one queued request per placement, sent after
the commit, so a request never waits on WeChat for more than one object (a bulk upload, the
campaign page's placement inlines, "Ask WeChat again" on a selection). The requests run as
campaigns.tasks.issue_wechat_qr, which calls services.issue_queued_wechat_qr."""

from collections.abc import Iterable

from django.db import transaction

from campaigns import services, tasks
from campaigns.models import Placement


def queue_wechat_qr(placements: Iterable[Placement]) -> int:
    """Mark the saved `placements` that can have a WeChat code (load them with their
    wechat_app) as waiting for one and queue one request each, after the commit. Returns
    how many were queued. A placement already waiting is queued again, harmlessly: the
    first request to run issues the code, the others find it no longer pending."""
    with transaction.atomic():
        ids = services.mark_wechat_qr_pending(placements)
        if ids:
            tasks.issue_wechat_qrs.delay_on_commit(ids)
    return len(ids)
