"""Writes that span rows or reach outside: KPI activation, placements with their scenes,
bulk placement upload, WeChat QR issuance."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns import qrcodes
from campaigns.models import KPI, Campaign, EventDefinition, IssuedScene, Placement, WeChatApp, validate_mp_page
from campaigns.wechat_api import WeChatAPIError, WeChatClient
from wxanalytics.locks import advisory_xact_lock

logger = logging.getLogger(__name__)

# Advisory lock names (wxanalytics.locks).
LOCK_KPI_ACTIVATION = "campaigns.kpi_activation"
LOCK_SCENE_ALLOCATION = "campaigns.scene_allocation"


# --- KPIs -----------------------------------------------------------------------------


class KPILimitExceeded(Exception):
    """A fourth active KPI was refused."""


def kpi_save(kpi: KPI) -> KPI:
    """Save a KPI, refusing a fourth active one even when two people activate at once.

    The check and the write run under one lock, so two concurrent saves cannot both see
    "two active" and both become the third.
    """
    with transaction.atomic():
        if kpi.is_active:
            advisory_xact_lock(LOCK_KPI_ACTIVATION)
            if kpi.active_limit_reached():
                raise KPILimitExceeded(KPI.LIMIT_MESSAGE)
        kpi.save()
    return kpi


# --- scenes and placements --------------------------------------------------------------


def allocate_scenes(count: int) -> list[str]:
    """Issue `count` new scene values, recorded in IssuedScene so none is ever reused.

    Must run inside a transaction (the lock is held until it commits). Scenes are numbered
    after every scene ever issued; values issued some other way are skipped.
    """
    if count <= 0:
        return []
    advisory_xact_lock(LOCK_SCENE_ALLOCATION)
    number = IssuedScene.objects.count()
    scenes: list[str] = []
    while len(scenes) < count:
        candidates = [qrcodes.encode_scene(number + i) for i in range(1, count - len(scenes) + 1)]
        number += len(candidates)
        taken = set(IssuedScene.objects.filter(value__in=candidates).values_list("value", flat=True))
        scenes.extend(value for value in candidates if value not in taken)
    IssuedScene.objects.bulk_create([IssuedScene(value=value) for value in scenes])
    return scenes


def check_scene(placement: Placement) -> None:
    """ValidationError when the placement's scene does not suit its kind of code."""
    try:
        qrcodes.validate_scene(placement.scene, placement.qr_kind)
    except qrcodes.InvalidScene as exc:
        raise ValidationError({"scene": str(exc)}) from exc


def placement_create(placement: Placement, *, request_wechat: bool = True) -> Placement:
    """Save a new placement with a freshly issued scene; then, for a WeChat code kind with
    credentials, ask WeChat for the code (after the commit: never call WeChat inside our
    transaction). A request that saves several placements passes `request_wechat=False`
    and queues their codes (wechat_queue). A WeChat refusal is kept on the placement
    (`qr_error`), not raised: the placement exists and its short link works meanwhile."""
    with transaction.atomic():
        (placement.scene,) = allocate_scenes(1)
        check_scene(placement)
        placement.save()
    if request_wechat:
        _ask_for_code(placement)
    return placement


def _ask_for_code(placement: Placement) -> None:
    """A refusal is already kept on the placement (`qr_error`); the log is for operators."""
    if not placement.wants_wechat_qr:
        return
    try:
        request_wechat_qr(placement)
    except WeChatAPIError:
        logger.warning("wechat: QR code for placement %s not issued", placement.pk, exc_info=True)


# Fields that decide what WeChat draws: changing one asks for a new code.
QR_INPUTS = frozenset({"qr_kind", "wechat_app", "mp_page", "mp_env_version", "mp_check_path"})


def needs_new_code(changed: set[str]) -> bool:
    """Whether an edit of these fields asks WeChat for a new code."""
    return bool(changed & QR_INPUTS)


def placement_update(placement: Placement, *, changed: set[str], request_wechat: bool = True) -> Placement:
    """Save an edited placement; a change of code kind or app asks WeChat for a new code
    (unless `request_wechat=False`: the caller queues it)."""
    qr_inputs_changed = needs_new_code(changed)
    if qr_inputs_changed:
        placement.qr_url = placement.qr_ticket = placement.qr_error = placement.qr_request_status = ""
        placement.qr_expires_at = None
        if placement.qr_image:
            placement.qr_image.delete(save=False)
    with transaction.atomic():
        check_scene(placement)
        placement.save()
    if qr_inputs_changed and request_wechat:
        _ask_for_code(placement)
    return placement


def temporary_qr_seconds(placement: Placement, *, now: datetime | None = None) -> int:
    """Lifetime for a temporary code: until the campaign's last day ends (reporting time
    zone), at most WeChat's 30 days, at least one day."""
    now = now or timezone.now()
    ends_on = placement.campaign.ends_on
    if ends_on is None:
        return qrcodes.OA_TEMPORARY_MAX_SECONDS
    end = datetime.combine(ends_on + timedelta(days=1), time.min, tzinfo=settings.REPORTING_TZ)
    seconds = int((end - now).total_seconds())
    return max(86_400, min(seconds, qrcodes.OA_TEMPORARY_MAX_SECONDS))


def _record_refusal(placement: Placement, reason: str, *, final: bool) -> None:
    """Keep why WeChat did not issue the code; `final=False` leaves the request pending (a
    queued request that will be tried again)."""
    placement.qr_error = reason[:300]
    placement.qr_request_status = Placement.QRRequest.FAILED if final else Placement.QRRequest.PENDING
    placement.save(update_fields=["qr_error", "qr_request_status"])


def _refuse_bad_mp_page(placement: Placement) -> None:
    """A page WeChat would refuse (or silently mangle) is stopped here, with the reason, before
    any call: rows saved before pages were validated can still hold one."""
    try:
        validate_mp_page(placement.mp_page)
    except ValidationError as exc:
        _record_refusal(placement, " ".join(exc.messages), final=True)
        raise WeChatAPIError("/wxa/getwxacodeunlimit", None, f"not sent: {placement.qr_error}") from exc


def request_wechat_qr(placement: Placement) -> Placement:
    """Ask WeChat for this placement's code now: a parametric QR (Official Account kinds: its
    URL, ticket and expiry are stored) or a Mini Program code (the image is stored). On
    refusal the error is stored on the placement and WeChatAPIError re-raised. For one
    placement at a time; many go through wechat_queue.queue_wechat_qr."""
    Placement.objects.filter(pk=placement.pk).update(qr_request_attempts=F("qr_request_attempts") + 1)
    placement.qr_request_attempts += 1
    return _ask_wechat(placement, final=True)


def _ask_wechat(placement: Placement, *, final: bool) -> Placement:
    """The call itself and what it leaves on the placement. `final=False`: a failure to
    reach WeChat leaves the request pending (a WeChat refusal is final whatever)."""
    if not placement.wants_wechat_qr:
        reason = "this placement has no WeChat app with a secret for its kind of code"
        if placement.qr_request_status == Placement.QRRequest.PENDING:
            _record_refusal(placement, f"not sent: {reason}", final=True)
        raise WeChatAPIError("qrcode", None, reason)
    if placement.qr_kind == Placement.QRKind.MINI_PROGRAM:
        _refuse_bad_mp_page(placement)
    client = WeChatClient(placement.wechat_app)
    try:
        if placement.qr_kind == Placement.QRKind.MINI_PROGRAM:
            image = client.get_unlimited_wxacode(
                scene=placement.scene,
                page=placement.mp_page,
                env_version=placement.mp_env_version,
                check_path=placement.mp_check_path,
            )
        else:
            permanent = placement.qr_kind == Placement.QRKind.OA_PERMANENT
            ticket = client.create_qrcode(
                scene=placement.scene,
                permanent=permanent,
                expire_seconds=None if permanent else temporary_qr_seconds(placement),
            )
    except WeChatAPIError as exc:
        _record_refusal(placement, str(exc), final=final or exc.errcode is not None)
        raise
    placement.qr_error = ""
    placement.qr_request_status = Placement.QRRequest.ISSUED
    if placement.qr_kind == Placement.QRKind.MINI_PROGRAM:
        if placement.qr_image:
            placement.qr_image.delete(save=False)
        placement.qr_image.save(f"{placement.scene}.png", ContentFile(image), save=False)
        placement.save(update_fields=["qr_image", "qr_error", "qr_request_status"])
        return placement
    placement.qr_url = ticket.url
    placement.qr_ticket = ticket.ticket
    placement.qr_expires_at = (
        timezone.now() + timedelta(seconds=ticket.expire_seconds) if ticket.expire_seconds and not permanent else None
    )
    placement.save(update_fields=["qr_url", "qr_ticket", "qr_expires_at", "qr_error", "qr_request_status"])
    return placement


# --- WeChat codes for many placements: one queued request each ----------------------------


def mark_wechat_qr_pending(placements: Iterable[Placement]) -> list[int]:
    """Mark the saved `placements` that can have a WeChat code (load them with their
    wechat_app) as waiting for one; return their ids, for the queue (wechat_queue)."""
    wanted = [placement for placement in placements if placement.wants_wechat_qr]
    ids = [placement.pk for placement in wanted]
    if ids:
        Placement.objects.filter(pk__in=ids).update(qr_request_status=Placement.QRRequest.PENDING)
    for placement in wanted:
        placement.qr_request_status = Placement.QRRequest.PENDING
    return ids


def issue_queued_wechat_qr(placement_id: int, *, final: bool) -> bool:
    """Run one queued request: ask WeChat for the placement's code if it is still waiting
    for one. True when WeChat issued it; False when there was nothing to do (the placement is
    gone, its code was issued or refused meanwhile, another worker claimed this attempt) or
    the request failed for good (the reason is on the placement). Raises WeChatAPIError only
    when WeChat could not be reached and `final` is False: the request stays pending, worth
    another try."""
    placement = (
        Placement.objects.select_related("campaign", "wechat_app")
        .filter(pk=placement_id, qr_request_status=Placement.QRRequest.PENDING)
        .first()
    )
    if placement is None:
        return False
    # The claim: of two deliveries of the same request (a redelivered message, a double
    # click), only the one that moves the attempt counter on calls WeChat.
    claimed = Placement.objects.filter(
        pk=placement_id,
        qr_request_status=Placement.QRRequest.PENDING,
        qr_request_attempts=placement.qr_request_attempts,
    ).update(qr_request_attempts=F("qr_request_attempts") + 1)
    if not claimed:
        return False
    placement.qr_request_attempts += 1
    try:
        _ask_wechat(placement, final=final)
    except WeChatAPIError as exc:
        if placement.qr_request_status == Placement.QRRequest.PENDING:
            raise
        logger.warning("wechat: QR code for placement %s not issued: %s", placement_id, exc)
        return False
    return True


# --- renewing temporary Official Account codes ---------------------------------------------

# Renew this long before expiry: the schedule runs every 6 hours, so a failed run or two
# (WeChat unreachable, a worker down) still leaves time before the code dies.
RENEW_BEFORE = timedelta(days=3)


def _campaign_end(campaign: Campaign) -> datetime | None:
    """The moment the campaign's last day ends (reporting time zone); None when open-ended."""
    if campaign.ends_on is None:
        return None
    return datetime.combine(campaign.ends_on + timedelta(days=1), time.min, tzinfo=settings.REPORTING_TZ)


def _renewal_candidates(now: datetime):
    """Temporary Official Account codes expiring within RENEW_BEFORE (or expired) whose
    campaign is active and not over, with an app that can ask WeChat."""
    today = now.astimezone(settings.REPORTING_TZ).date()
    return (
        Placement.objects.filter(
            qr_kind=Placement.QRKind.OA_TEMPORARY,
            qr_expires_at__lte=now + RENEW_BEFORE,
            campaign__status=Campaign.Status.ACTIVE,
            wechat_app__kind=WeChatApp.Kind.OFFICIAL_ACCOUNT,
        )
        .filter(Q(campaign__ends_on__isnull=True) | Q(campaign__ends_on__gte=today))
        .exclude(wechat_app__secret="")
        .select_related("campaign")
    )


def _outlived_by_campaign(placement: Placement) -> bool:
    """True when the campaign runs past the code's expiry. A code issued to the campaign's
    last day is not renewed again and again in its final days."""
    end = _campaign_end(placement.campaign)
    return end is None or placement.qr_expires_at < end


def temporary_codes_due(*, now: datetime | None = None) -> list[int]:
    """Ids of temporary codes to renew now (one query; the set is small: codes of running
    campaigns in their last RENEW_BEFORE)."""
    now = now or timezone.now()
    candidates = _renewal_candidates(now).only("pk", "qr_expires_at", "campaign__ends_on")
    return [placement.pk for placement in candidates if _outlived_by_campaign(placement)]


def renew_temporary_code(placement_id: int, *, now: datetime | None = None) -> bool:
    """Ask WeChat for a new code for a due temporary placement and record the renewal. False
    when the placement is gone or no longer due (another run renewed it, the campaign ended).
    Raises WeChatAPIError when WeChat refuses or cannot be reached (kept in `qr_error`)."""
    now = now or timezone.now()
    placement = _renewal_candidates(now).select_related("wechat_app").filter(pk=placement_id).first()
    if placement is None or not _outlived_by_campaign(placement):
        return False
    request_wechat_qr(placement)
    Placement.objects.filter(pk=placement_id).update(qr_renewed_at=now, qr_renewals=F("qr_renewals") + 1)
    logger.info("wechat: renewed temporary QR code of placement %s until %s", placement_id, placement.qr_expires_at)
    return True


@dataclass
class PlanAddition:
    added: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one readable sentence per name refused


def event_definitions_add(names: list[str], *, category: str) -> PlanAddition:
    """Add event names to the tracking plan with `category` (no stage, not a funnel step; an
    analyst fills in the rest on the definition's page). Names already in the plan and
    names that are not snake case are refused with a reason; the rest are added together."""
    result = PlanAddition()
    if category not in EventDefinition.Category.values:
        raise ValidationError(f"Unknown category {category!r}.")
    existing = set(EventDefinition.objects.filter(name__in=names).values_list("name", flat=True))
    new = []
    for name in dict.fromkeys(names):
        if name in existing:
            result.refused.append(f"{name}: already in the tracking plan.")
            continue
        definition = EventDefinition(name=name, category=category, description=_("Added from unplanned events."))
        try:
            definition.full_clean()
        except ValidationError as exc:
            result.refused.append(f"{name}: {' '.join(exc.messages)}")
            continue
        new.append(definition)
    with transaction.atomic():
        EventDefinition.objects.bulk_create(new, ignore_conflicts=True)
    result.added = [d.name for d in new]
    return result
