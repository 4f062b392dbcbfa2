"""Celery adapters for campaigns: primitives in, one service call each."""

import logging

from celery import shared_task

from campaigns import services
from campaigns.wechat_api import WeChatAPIError

logger = logging.getLogger(__name__)


@shared_task
def renew_temporary_qr_codes() -> int:
    """Fan out one renewal per temporary Official Account code that expires soon while its
    campaign runs."""
    due = services.temporary_codes_due()
    for placement_id in due:
        renew_temporary_qr_code.delay(placement_id)
    return len(due)


@shared_task(bind=True, max_retries=3)
def renew_temporary_qr_code(self, placement_id: int) -> bool:
    try:
        return services.renew_temporary_code(placement_id)
    except WeChatAPIError as exc:
        if exc.errcode is None:  # unreachable: worth another try; a refusal is kept on the placement
            raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc
        logger.warning("wechat: temporary QR code of placement %s not renewed: %s", placement_id, exc)
        return False


# An unreachable WeChat is asked again after 1, 2, 4, 8 and 16 minutes; then the request
# is marked failed (the reason stays on the placement, and admin can ask again).
QR_REQUEST_RETRIES = 5


@shared_task
def issue_wechat_qrs(placement_ids: list[int]) -> int:
    """Fan out one WeChat code request per placement (queued by wechat_queue.queue_wechat_qr
    after the commit, so the request that created them publishes one message, not 5,000)."""
    for placement_id in placement_ids:
        issue_wechat_qr.delay(placement_id)
    return len(placement_ids)


@shared_task(bind=True, max_retries=QR_REQUEST_RETRIES)
def issue_wechat_qr(self, placement_id: int) -> bool:
    final = self.request.retries >= self.max_retries
    try:
        return services.issue_queued_wechat_qr(placement_id, final=final)
    except WeChatAPIError as exc:  # unreachable, and the request still pending
        raise self.retry(exc=exc, countdown=60 * 2**self.request.retries) from exc
