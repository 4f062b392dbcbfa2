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
