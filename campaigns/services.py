"""Writes that span rows or reach outside: KPI activation, placements with their scenes,
bulk placement upload, WeChat QR issuance."""

import csv
import io
import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from campaigns import qrcodes
from campaigns.models import KPI, Campaign, EventDefinition, IssuedScene, Placement, WeChatApp, validate_mp_page
from campaigns.wechat_api import WeChatAPIError, WeChatClient

logger = logging.getLogger(__name__)

# PostgreSQL advisory lock keys (any constant bigints unique to this project).
LOCK_KPI_ACTIVATION = 7_100_001
LOCK_SCENE_ALLOCATION = 7_100_002


def _advisory_lock(key: int) -> None:
    """Serialise a critical section until the surrounding transaction ends. SQLite (the
    zero-set-up demo) has one writer at a time anyway, so it needs no lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


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
            _advisory_lock(LOCK_KPI_ACTIVATION)
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
    _advisory_lock(LOCK_SCENE_ALLOCATION)
    number = IssuedScene.objects.count()
    scenes: list[str] = []
    while len(scenes) < count:
        candidates = [qrcodes.encode_scene(number + i) for i in range(1, count - len(scenes) + 1)]
        number += len(candidates)
        taken = set(IssuedScene.objects.filter(value__in=candidates).values_list("value", flat=True))
        scenes.extend(value for value in candidates if value not in taken)
    IssuedScene.objects.bulk_create([IssuedScene(value=value) for value in scenes])
    return scenes


def _check_scene(placement: Placement) -> None:
    try:
        qrcodes.validate_scene(placement.scene, placement.qr_kind)
    except qrcodes.InvalidScene as exc:
        raise ValidationError({"scene": str(exc)}) from exc


def placement_create(placement: Placement, *, request_wechat: bool = True) -> Placement:
    """Save a new placement with a freshly issued scene; then, for an Official Account
    code with credentials, ask WeChat for the code (after the commit: never call WeChat
    inside our transaction). A WeChat refusal is kept on the placement (`qr_error`), not
    raised: the placement exists and its short link works meanwhile."""
    with transaction.atomic():
        (placement.scene,) = allocate_scenes(1)
        _check_scene(placement)
        placement.save()
    if request_wechat and placement.wants_wechat_qr:
        _request_wechat_qr_or_log(placement)
    return placement


def _request_wechat_qr_or_log(placement: Placement) -> None:
    """The refusal is already kept on the placement (`qr_error`); the log is for operators."""
    try:
        request_wechat_qr(placement)
    except WeChatAPIError:
        logger.warning("wechat: QR code for placement %s not issued", placement.pk, exc_info=True)


# Fields that decide what WeChat draws: changing one asks for a new code.
QR_INPUTS = frozenset({"qr_kind", "wechat_app", "mp_page", "mp_env_version", "mp_check_path"})


def placement_update(placement: Placement, *, changed: set[str]) -> Placement:
    """Save an edited placement; a change of code kind or app asks WeChat for a new code."""
    qr_inputs_changed = bool(changed & QR_INPUTS)
    if qr_inputs_changed:
        placement.qr_url = placement.qr_ticket = placement.qr_error = ""
        placement.qr_expires_at = None
        if placement.qr_image:
            placement.qr_image.delete(save=False)
    with transaction.atomic():
        _check_scene(placement)
        placement.save()
    if qr_inputs_changed and placement.wants_wechat_qr:
        _request_wechat_qr_or_log(placement)
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


def _refuse_bad_mp_page(placement: Placement) -> None:
    """A page WeChat would refuse (or silently mangle) is stopped here, with the reason, before
    any call: rows saved before pages were validated can still hold one."""
    try:
        validate_mp_page(placement.mp_page)
    except ValidationError as exc:
        placement.qr_error = " ".join(exc.messages)[:300]
        placement.save(update_fields=["qr_error"])
        raise WeChatAPIError("/wxa/getwxacodeunlimit", None, f"not sent: {placement.qr_error}") from exc


def request_wechat_qr(placement: Placement) -> Placement:
    """Ask WeChat for this placement's code: a parametric QR (Official Account kinds: its URL,
    ticket and expiry are stored) or a Mini Program code (the image is stored). On refusal
    the error is stored on the placement and WeChatAPIError re-raised."""
    if not placement.wants_wechat_qr:
        raise WeChatAPIError("qrcode", None, "this placement has no WeChat app with a secret for its kind of code")
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
        placement.qr_error = str(exc)[:300]
        placement.save(update_fields=["qr_error"])
        raise
    placement.qr_error = ""
    if placement.qr_kind == Placement.QRKind.MINI_PROGRAM:
        if placement.qr_image:
            placement.qr_image.delete(save=False)
        placement.qr_image.save(f"{placement.scene}.png", ContentFile(image), save=False)
        placement.save(update_fields=["qr_image", "qr_error"])
        return placement
    placement.qr_url = ticket.url
    placement.qr_ticket = ticket.ticket
    placement.qr_expires_at = (
        timezone.now() + timedelta(seconds=ticket.expire_seconds) if ticket.expire_seconds and not permanent else None
    )
    placement.save(update_fields=["qr_url", "qr_ticket", "qr_expires_at", "qr_error"])
    return placement


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


# --- bulk placements from CSV -----------------------------------------------------------

BULK_COLUMNS = (
    "campaign",
    "name",
    "kind",
    "qr_kind",
    "wechat_app",
    "target_url",
    "utm_source",
    "utm_medium",
    "utm_content",
    "mp_page",
    "mp_env_version",
)
BULK_REQUIRED = ("name",)
BULK_MAX_ROWS = 5000


@dataclass
class LineError:
    """What is wrong with one line of a bulk placement CSV (the header is line 1); event
    rows refused at ingest are events.ingest.RowError."""

    line: int
    errors: dict[str, list[str]]


@dataclass
class BulkPlacementError(Exception):
    """The upload was refused as a whole; `errors` says which lines and why."""

    errors: list[LineError] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(
            f"line {e.line}: " + ", ".join(f"{k}: {' '.join(v)}" for k, v in e.errors.items()) for e in self.errors
        )


def _file_error(message: str) -> BulkPlacementError:
    return BulkPlacementError([LineError(line=1, errors={"file": [message]})])


def placements_bulk_create(csv_text: str, *, campaign: Campaign | None = None) -> list[Placement]:
    """Create one placement per CSV row, all or nothing.

    Columns (header row required, any order): name, and optionally campaign (its code;
    required unless `campaign` is given), kind, qr_kind, wechat_app (appid), target_url,
    utm_source, utm_medium, utm_content, mp_page, mp_env_version. Every row is validated before anything is
    written; any error refuses the whole file with errors by line number (the header is
    line 1).
    """
    if "\x00" in csv_text:
        line = csv_text.count("\n", 0, csv_text.index("\x00")) + 1
        raise BulkPlacementError([LineError(line=line, errors={"row": ["The line contains a NUL byte (\\x00)."]})])
    # newline=None reads LF, CRLF and CR alone (Excel's "CSV (Macintosh)") as line ends.
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff"), newline=None))
    try:
        return _placements_from_reader(reader, campaign=campaign)
    except csv.Error as exc:
        message = f"Not readable as CSV: {exc}."
        if "field larger than field limit" in str(exc):
            limit = csv.field_size_limit()
            message = f"A cell is larger than {limit // 1024} KB; at most {limit:,} characters."
        raise BulkPlacementError([LineError(line=reader.line_num, errors={"row": [message]})]) from None


def _placements_from_reader(reader: csv.DictReader, *, campaign: Campaign | None) -> list[Placement]:
    header = [(name or "").strip() for name in (reader.fieldnames or [])]
    if not header:
        raise _file_error("The file is empty: expected a header row, e.g. campaign,name,kind.")
    reader.fieldnames = header
    unknown = sorted(set(header) - set(BULK_COLUMNS))
    missing = [c for c in BULK_REQUIRED if c not in header]
    if campaign is None and "campaign" not in header:
        missing.append("campaign")
    if unknown or missing:
        errors = {}
        if unknown:
            errors["header"] = [f"Unknown column(s): {', '.join(unknown)}. Known: {', '.join(BULK_COLUMNS)}."]
        if missing:
            errors.setdefault("header", []).append(f"Missing column(s): {', '.join(missing)}.")
        raise BulkPlacementError([LineError(line=1, errors=errors)])

    rows: list[tuple[int, dict[str, str]]] = []
    for row in reader:
        if None in row:
            raise BulkPlacementError([LineError(line=reader.line_num, errors={"row": ["More values than columns."]})])
        values = {k: (v or "").strip() for k, v in row.items()}
        if any(values.values()):
            rows.append((reader.line_num, values))
        if len(rows) > BULK_MAX_ROWS:
            raise _file_error(f"At most {BULK_MAX_ROWS} placements per upload.")
    if not rows:
        raise _file_error("No placements in the file: add one row per placement under the header.")

    # Campaign codes match ignoring case, as everywhere (unique ignoring case).
    codes = {values.get("campaign", "").lower() for _, values in rows} - {""}
    campaigns = {c.code.lower(): c for c in Campaign.objects.annotate(key=Lower("code")).filter(key__in=codes)}
    appids = {values.get("wechat_app", "") for _, values in rows} - {""}
    apps = {a.appid: a for a in WeChatApp.objects.filter(appid__in=appids)}

    errors: list[LineError] = []
    valid: list[tuple[int, Placement]] = []
    seen: dict[tuple[int, str], int] = {}
    for line, values in rows:
        row_errors: dict[str, list[str]] = {}
        row_campaign = campaign
        if values.get("campaign"):
            row_campaign = campaigns.get(values["campaign"].lower())
            if row_campaign is None:
                row_errors["campaign"] = [f"No campaign with code {values['campaign']!r}."]
            elif campaign is not None and row_campaign != campaign:
                row_errors["campaign"] = [f"This upload is for campaign {campaign.code}."]
        elif campaign is None:
            row_errors["campaign"] = ["This field is required."]
        app = None
        if values.get("wechat_app"):
            app = apps.get(values["wechat_app"])
            if app is None:
                row_errors["wechat_app"] = [f"No WeChat app with appid {values['wechat_app']!r}."]
        placement = Placement(
            wechat_app=app,
            **{
                name: values[name]
                for name in (
                    "name",
                    "kind",
                    "qr_kind",
                    "target_url",
                    "utm_source",
                    "utm_medium",
                    "utm_content",
                    "mp_page",
                    "mp_env_version",
                )
                if values.get(name)
            },
        )
        if row_campaign is not None:
            placement.campaign = row_campaign
        try:
            placement.full_clean(exclude=["campaign", "scene", "wechat_app"], validate_unique=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                row_errors.setdefault(name, []).extend(messages)
        if row_campaign is not None and placement.name:
            key = (row_campaign.pk, placement.name)
            if key in seen:
                row_errors.setdefault("name", []).append(f"Same campaign and name as line {seen[key]}.")
            seen.setdefault(key, line)
        if row_errors:
            errors.append(LineError(line=line, errors=row_errors))
        else:
            valid.append((line, placement))

    line_of = {(p.campaign_id, p.name): line for line, p in valid}
    existing = Placement.objects.filter(
        campaign_id__in={p.campaign_id for _, p in valid}, name__in={p.name for _, p in valid}
    ).values_list("campaign_id", "name")
    for key in existing:
        if key in line_of:
            errors.append(LineError(line=line_of[key], errors={"name": ["A placement with this name already exists."]}))
    if errors:
        raise BulkPlacementError(sorted(errors, key=lambda e: e.line))

    placements = [p for _, p in valid]
    with transaction.atomic():
        for placement, scene in zip(placements, allocate_scenes(len(placements)), strict=True):
            placement.scene = scene
            _check_scene(placement)
        Placement.objects.bulk_create(placements)
    for placement in placements:
        if placement.wants_wechat_qr:
            try:
                request_wechat_qr(placement)
            except WeChatAPIError:
                logger.warning("wechat: QR code for placement %s not issued", placement.pk, exc_info=True)
    return placements


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
        definition = EventDefinition(name=name, category=category, description="Added from unplanned events.")
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
