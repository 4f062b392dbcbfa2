"""What marketers and analysts define: KPIs, the funnel and tracking plan, campaigns,
placements (each with one QR scene), creatives, and the WeChat apps we talk to."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns import units
from wxanalytics.text import SNAKE_CASE

snake_case_validator = RegexValidator(
    SNAKE_CASE, "Use lower snake case: letters, digits and single underscores, e.g. add_to_cart."
)


def validate_mp_page(value: str) -> None:
    """A Mini Program page as getwxacodeunlimit takes it (WECHAT.md §3.1): `pages/index/index`,
    no leading slash and no query string — parameters travel in the scene."""
    if value.startswith("/"):
        raise ValidationError(
            _("Write the page without a leading slash: %(page)s (WeChat refuses /pages/…)."),
            params={"page": value.lstrip("/")},
            code="leading_slash",
        )
    if "?" in value or "&" in value or "#" in value:
        raise ValidationError(
            _(
                "A Mini Program code's page cannot carry a query string (%(page)s); WeChat passes only the scene "
                "to the page, which reads it from onLoad(query.scene)."
            ),
            params={"page": value},
            code="query_string",
        )


campaign_code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$",
    "1–32 characters: letters, digits, '-' and '_', starting with a letter or digit (e.g. 23Q4-Sale).",
)


class KPI(models.Model):
    """A business outcome WeChat should move (seed §1: one to three of them)."""

    MAX_ACTIVE = 3
    LIMIT_MESSAGE = (
        f"There are already {MAX_ACTIVE} active KPIs. The playbook asks for one to three "
        "business outcomes so everything else ladders up to them: deactivate one first."
    )

    class MetricKind(models.TextChoices):
        EVENT_COUNT = "event_count", _("Event count")
        UNIQUE_USERS = "unique_users", _("Unique users")
        CONVERSION_RATE = "conversion_rate", _("Conversion rate A → B")
        VALUE_SUM = "value_sum", _("Sum of value")
        MEDIAN_TIME = "median_time", _("Median time between two events")

    class Direction(models.TextChoices):
        UP = "up", _("Higher is better")
        DOWN = "down", _("Lower is better")

    class Period(models.TextChoices):
        DAY = "day", _("Day")
        WEEK = "week", _("Week")
        MONTH = "month", _("Month")

    # A target is entered and shown in its KPI's unit, and stored in the unit the metric is
    # measured in (a rate as a 0–1 fraction, a duration in seconds): unit, stored = entered ×
    # factor, places allowed when entering.
    TARGET_UNITS = {
        MetricKind.EVENT_COUNT: ("events", Decimal(1), 0),
        MetricKind.UNIQUE_USERS: ("people", Decimal(1), 0),
        MetricKind.CONVERSION_RATE: ("%", Decimal("0.01"), 2),
        MetricKind.VALUE_SUM: ("¥", Decimal(1), 2),
        MetricKind.MEDIAN_TIME: ("min", Decimal(60), 2),
    }
    TARGET_HELP = (
        "In the KPI's unit: a conversion rate in percent (35 means 35 %), a median time in minutes, "
        "a sum of value in yuan (¥), counts as whole numbers."
    )

    name = models.CharField(max_length=120, verbose_name=_("name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="kpis",
        verbose_name=_("owner"),
    )
    metric_kind = models.CharField(max_length=20, choices=MetricKind.choices, verbose_name=_("metric kind"))
    event_name = models.CharField(
        max_length=64,
        validators=[snake_case_validator],
        help_text=_("The event counted, or event A."),
        verbose_name=_("event name"),
    )
    second_event_name = models.CharField(
        max_length=64,
        blank=True,
        validators=[snake_case_validator],
        help_text=_("Event B, for conversion rate and median time (e.g. ticket_created → ticket_resolved)."),
        verbose_name=_("second event name"),
    )
    target = models.DecimalField(max_digits=16, decimal_places=4, verbose_name=_("target"))
    direction = models.CharField(
        max_length=4, choices=Direction.choices, default=Direction.UP, verbose_name=_("direction")
    )
    period = models.CharField(max_length=5, choices=Period.choices, default=Period.WEEK, verbose_name=_("period"))
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name_plural = _("KPIs")
        verbose_name = _("KPI")
        ordering = ["-is_active", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def needs_second_event(self) -> bool:
        return self.metric_kind in {self.MetricKind.CONVERSION_RATE, self.MetricKind.MEDIAN_TIME}

    def clean(self) -> None:
        if self.needs_second_event and not self.second_event_name:
            raise ValidationError(
                {"second_event_name": f"{self.get_metric_kind_display()} needs a second event (event B)."}
            )
        rate = self.metric_kind == self.MetricKind.CONVERSION_RATE
        if rate and self.target is not None and not Decimal(0) <= self.target <= Decimal(1):
            raise ValidationError({"target": gettext("A conversion target is stored as a share from 0 to 1.")})
        if self.is_active and self.active_limit_reached():
            raise ValidationError(self.LIMIT_MESSAGE)

    @property
    def measure_unit(self) -> str:
        """The unit the metric is measured and stored in (campaigns.units reads it)."""
        return MEASURE_UNITS[self.metric_kind]

    def format_value(self, value: Decimal | None) -> str:
        """A value of this KPI (or its target) as people read it: 82.3 %, ¥12,345.50, 4 h 00 min."""
        return units.measured(self.measure_unit, value)

    @property
    def target_unit(self) -> str:
        return self.TARGET_UNITS[self.metric_kind][0]

    @property
    def target_entered(self) -> Decimal:
        """The target in the KPI's unit (a 0.35 conversion target is 35 %)."""
        factor = self.TARGET_UNITS[self.metric_kind][1]
        value = self.target / factor
        # Whole numbers without decimals (100, not 1E+2 or 100.0000).
        return value.quantize(Decimal(1) if value == value.to_integral_value() else Decimal("0.01"))

    @classmethod
    def target_from_entered(cls, metric_kind: str, entered: Decimal) -> Decimal:
        """The stored target for a target entered in the kind's unit; ValidationError with
        the reason when it cannot be one (a 3500 % conversion target, 1.5 orders)."""
        unit, factor, places = cls.TARGET_UNITS[metric_kind]
        if metric_kind == cls.MetricKind.CONVERSION_RATE and not Decimal(0) <= entered <= Decimal(100):
            raise ValidationError(
                gettext("Enter a conversion target in percent, from 0 to 100 (35 means 35 %%); got %(value)s.")
                % {"value": format(entered.normalize(), "f")}
            )
        if entered < 0:
            raise ValidationError(gettext("A target cannot be negative."))
        if metric_kind == cls.MetricKind.MEDIAN_TIME and entered == 0:
            raise ValidationError(gettext("Enter the median time target in minutes (90 means 1 h 30 min)."))
        if entered != entered.quantize(Decimal(1).scaleb(-places)):
            raise ValidationError(
                gettext("A target in %(unit)s takes at most %(places)s decimal places.")
                % {"unit": unit, "places": places}
                if places
                else gettext("A target in %(unit)s is a whole number.") % {"unit": unit}
            )
        return (entered * factor).quantize(Decimal("0.0001"))

    def active_limit_reached(self) -> bool:
        """Would saving this KPI as active make more than MAX_ACTIVE? (Race-safe only under
        the lock taken by campaigns.services.kpi_save.)"""
        return KPI.objects.filter(is_active=True).exclude(pk=self.pk).count() >= self.MAX_ACTIVE

    def is_on_target(self, value: Decimal | None) -> bool | None:
        if value is None:
            return None
        return value >= self.target if self.direction == self.Direction.UP else value <= self.target


# The unit each kind of KPI is measured and stored in (a rate as a 0–1 share).
MEASURE_UNITS = {
    KPI.MetricKind.EVENT_COUNT: "events",
    KPI.MetricKind.UNIQUE_USERS: "people",
    KPI.MetricKind.CONVERSION_RATE: "rate",
    KPI.MetricKind.VALUE_SUM: "yuan",
    KPI.MetricKind.MEDIAN_TIME: "seconds",
}


class FunnelStage(models.Model):
    """Discovery → Engagement → Conversion → Retention (seed §2)."""

    name = models.CharField(max_length=40, unique=True, verbose_name=_("name"))
    position = models.PositiveSmallIntegerField(unique=True, verbose_name=_("position"))
    description = models.TextField(blank=True, verbose_name=_("description"))

    class Meta:
        verbose_name = _("funnel stage")
        verbose_name_plural = _("funnel stages")
        ordering = ["position"]

    def __str__(self) -> str:
        return self.name


class EventDefinition(models.Model):
    """One entry of the tracking plan. Events outside the plan are still stored ("unplanned")."""

    class Category(models.TextChoices):
        PAGE_VIEW = "page_view", _("Page view by template")
        KEY_ACTION = "key_action", _("Key action")
        OPERATIONAL = "operational", _("Operational")
        PERFORMANCE = "performance", _("Performance signal")
        OFFICIAL_ACCOUNT = "official_account", _("Official Account")
        AD = "ad", _("Ad")
        PAYMENT = "payment", _("Payment")

    name = models.CharField(max_length=64, unique=True, validators=[snake_case_validator], verbose_name=_("name"))
    category = models.CharField(max_length=20, choices=Category.choices, verbose_name=_("category"))
    stage = models.ForeignKey(
        FunnelStage,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="event_definitions",
        verbose_name=_("stage"),
    )
    funnel_position = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=_("Order of this event in the default funnel; empty = not a funnel step."),
        verbose_name=_("funnel position"),
    )
    description = models.TextField(blank=True, verbose_name=_("description"))
    page_templates = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("For page views: the templates, comma separated (home, PDP, …)."),
        verbose_name=_("page templates"),
    )
    server_only = models.BooleanField(
        default=False,
        help_text=_(
            "Only servers and WeChat may send it (money, follows…): rows sent with a client key, "
            "which ships inside the Mini Program, are refused and kept for review."
        ),
        verbose_name=_("server only"),
    )

    class Meta:
        verbose_name = _("event definition")
        verbose_name_plural = _("event definitions")
        ordering = ["stage__position", "funnel_position", "name"]

    def __str__(self) -> str:
        return self.name


class WeChatApp(models.Model):
    """An Official Account or Mini Program we hold credentials for.

    The secret and AES key must be usable, so they cannot be hashed; they live only here
    and are never shown in lists or the API.
    """

    class Kind(models.TextChoices):
        OFFICIAL_ACCOUNT = "official_account", _("Official Account")
        MINI_PROGRAM = "mini_program", _("Mini Program")

    appid = models.CharField(max_length=32, unique=True, verbose_name=_("appid"))
    name = models.CharField(max_length=120, blank=True, verbose_name=_("name"))
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OFFICIAL_ACCOUNT, verbose_name=_("kind"))
    original_id = models.CharField(
        max_length=40, blank=True, help_text=_("gh_… id, the ToUserName of pushes."), verbose_name=_("original id")
    )
    token = models.CharField(
        max_length=64, blank=True, help_text=_("Push signature token from the console."), verbose_name=_("token")
    )
    encoding_aes_key = models.CharField(
        max_length=43,
        blank=True,
        help_text=_("43 characters; only for compatible/safe (encrypted) push mode."),
        verbose_name=_("encoding aes key"),
    )
    secret = models.CharField(
        max_length=64, blank=True, help_text=_("AppSecret; needed for WeChat's QR API."), verbose_name=_("secret")
    )
    access_token = models.CharField(max_length=1024, blank=True, editable=False, verbose_name=_("access token"))
    access_token_expires_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("access token expires at")
    )
    erase_unfollowed_after_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_(
            "Official Accounts: erase a person this many days after they unfollow, if they did "
            "nothing since (docs/privacy.md). Empty: never (the default)."
        ),
        verbose_name=_("erase unfollowed after days"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name_plural = _("WeChat apps")
        verbose_name = _("WeChat app")

    def __str__(self) -> str:
        return self.name or self.appid

    @property
    def has_api_credentials(self) -> bool:
        return bool(self.secret)


class SourceAlias(models.Model):
    """UTM source/medium spellings that mean the same thing (`fb` → `facebook`)."""

    alias = models.CharField(max_length=64, unique=True, verbose_name=_("alias"))
    canonical = models.CharField(max_length=64, verbose_name=_("canonical"))

    class Meta:
        verbose_name = _("source alias")
        verbose_name_plural = _("source aliases")
        ordering = ["canonical", "alias"]

    def __str__(self) -> str:
        return f"{self.alias} → {self.canonical}"

    @classmethod
    def normalise(cls, value: str) -> str:
        """Trimmed, lower case, and mapped through the alias table (" FB " → "facebook")."""
        cleaned = (value or "").strip().lower()
        if not cleaned:
            return ""
        canonical = cls.objects.filter(alias=cleaned).values_list("canonical", flat=True).first()
        return canonical or cleaned


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        ENDED = "ended", _("Ended")

    # Unique ignoring case (the constraint below): d11-encore and D11-Encore are one code, and
    # events match it ignoring case.
    code = models.CharField(max_length=32, unique=True, validators=[campaign_code_validator], verbose_name=_("code"))
    name = models.CharField(max_length=200, verbose_name=_("name"))
    objective_kpi = models.ForeignKey(
        KPI, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns", verbose_name=_("objective kpi")
    )
    starts_on = models.DateField(null=True, blank=True, verbose_name=_("starts on"))
    ends_on = models.DateField(null=True, blank=True, verbose_name=_("ends on"))
    budget = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        verbose_name=_("budget"),
    )
    currency = models.CharField(max_length=3, default="CNY", verbose_name=_("currency"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, verbose_name=_("status"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaigns",
        verbose_name=_("owner"),
    )
    utm_source = models.CharField(max_length=64, blank=True, verbose_name=_("utm source"))
    utm_medium = models.CharField(max_length=64, blank=True, verbose_name=_("utm medium"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(starts_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="campaign_ends_after_start",
                violation_error_message="The campaign cannot end before it starts.",
            ),
            # Also serves the ingest write's lower(code) join (events.ingest.write).
            models.UniqueConstraint(
                Lower("code"),
                name="campaign_code_unique_ignoring_case",
                violation_error_message="Another campaign already has this code in other letter case "
                "(codes are unique ignoring case).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def clean(self) -> None:
        if message := self.case_twin_message():
            raise ValidationError({"code": message})

    def case_twin_message(self) -> str | None:
        """Why this code is refused when another campaign has it in other letter case, else
        None. (An exact duplicate is left to the field's own unique check.)"""
        if not self.code:
            return None
        twin = Campaign.objects.filter(code__iexact=self.code).exclude(pk=self.pk).exclude(code=self.code).first()
        if twin is None:
            return None
        return gettext(
            "Campaign code %(code)s is already taken by %(twin)s (%(name)s): codes are unique ignoring case, "
            "and events sent with either spelling go to that campaign. Choose another code."
        ) % {"code": self.code, "twin": twin.code, "name": twin.name}


class IssuedScene(models.Model):
    """Every scene value ever handed out. Rows are never deleted, so a value is never reused
    (a printed poster may outlive its placement)."""

    value = models.CharField(max_length=32, primary_key=True, verbose_name=_("value"))
    issued_at = models.DateTimeField(auto_now_add=True, verbose_name=_("issued at"))

    class Meta:
        verbose_name = _("issued scene")
        verbose_name_plural = _("issued scenes")

    def __str__(self) -> str:
        return self.value


# A WeChat code that expires within this many days needs someone (home page, placement filter).
QR_EXPIRY_WARNING_DAYS = 7


@dataclass(frozen=True)
class QRState:
    """What a placement's printed code is right now, and why: "short link" with "the app has no
    AppSecret" tells a marketer why the WeChat code they chose is not the one being printed."""

    label: str
    reason: str = ""
    needs_attention: bool = False


class PlacementQuerySet(models.QuerySet):
    def qr_expiring(self, *, now=None) -> "PlacementQuerySet":
        """WeChat codes that stop working within QR_EXPIRY_WARNING_DAYS (not those already expired)."""
        now = now or timezone.now()
        return self.filter(qr_expires_at__gt=now, qr_expires_at__lte=now + timedelta(days=QR_EXPIRY_WARNING_DAYS))

    def qr_refused(self) -> "PlacementQuerySet":
        return self.exclude(qr_error="")


class Placement(models.Model):
    """Where a code is shown. One placement, one scene value, one QR code, one short link."""

    class Kind(models.TextChoices):
        POSTER = "poster", _("Poster")
        STORE_COUNTER = "store_counter", _("Store counter")
        ARTICLE_FOOTER = "article_footer", _("Article footer")
        MENU = "menu", _("Menu")
        MOMENTS_AD = "moments_ad", _("Moments ad")
        KOL_POST = "kol_post", _("KOL post")
        EVENT_BOOTH = "event_booth", _("Event booth")
        PACKAGING = "packaging", _("Packaging")
        OTHER = "other", _("Other")

    class QRKind(models.TextChoices):
        WEB_LINK = "web_link", _("Web short link")
        OA_TEMPORARY = "oa_temporary", _("Official Account, temporary")
        OA_PERMANENT = "oa_permanent", _("Official Account, permanent")
        MINI_PROGRAM = "mini_program", _("Mini Program code")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="placements", verbose_name=_("campaign")
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.POSTER, verbose_name=_("kind"))
    scene = models.CharField(max_length=32, unique=True, editable=False, verbose_name=_("scene"))
    qr_kind = models.CharField(
        max_length=20, choices=QRKind.choices, default=QRKind.WEB_LINK, verbose_name=_("qr kind")
    )
    wechat_app = models.ForeignKey(
        WeChatApp,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="placements",
        verbose_name=_("wechat app"),
    )
    target_url = models.URLField(
        max_length=500, blank=True, help_text=_("Where the short link redirects."), verbose_name=_("target url")
    )
    utm_source = models.CharField(
        max_length=64, blank=True, help_text=_("Empty: the campaign's default."), verbose_name=_("utm source")
    )
    utm_medium = models.CharField(
        max_length=64, blank=True, help_text=_("Empty: the campaign's default."), verbose_name=_("utm medium")
    )
    utm_content = models.CharField(max_length=64, blank=True, verbose_name=_("utm content"))

    class MiniProgramVersion(models.TextChoices):
        RELEASE = "release", _("Released version")
        TRIAL = "trial", _("Trial version (体验版)")
        DEVELOP = "develop", _("Development version (开发版)")

    mp_page = models.CharField(
        max_length=200,
        blank=True,
        validators=[validate_mp_page],
        help_text=_("Mini Program page, e.g. pages/index/index (no leading slash, no query string)."),
        verbose_name=_("mp page"),
    )
    mp_env_version = models.CharField(
        _("Mini Program version"),
        max_length=10,
        choices=MiniProgramVersion.choices,
        default=MiniProgramVersion.RELEASE,
        help_text=_("Which version a scan opens: test codes against the trial version before release."),
    )
    mp_check_path = models.BooleanField(
        _("WeChat checks the page"),
        default=False,
        help_text=_(
            "On: WeChat refuses the code unless the page exists in the released version. Off: the code can be "
            "printed before the page is published."
        ),
    )
    qr_url = models.URLField(
        max_length=500,
        blank=True,
        editable=False,
        help_text=_("Content from WeChat's QR API."),
        verbose_name=_("qr url"),
    )
    qr_ticket = models.CharField(max_length=200, blank=True, editable=False, verbose_name=_("qr ticket"))
    qr_expires_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("qr expires at"))
    qr_image = models.FileField(
        upload_to="qrcodes/mini_program/",
        blank=True,
        editable=False,
        help_text=_("The Mini Program code image WeChat drew (getwxacodeunlimit); codes never expire."),
        verbose_name=_("qr image"),
    )
    qr_error = models.CharField(
        max_length=300,
        blank=True,
        editable=False,
        help_text=_("WeChat's answer when it refused to issue the code."),
        verbose_name=_("qr error"),
    )

    class QRRequest(models.TextChoices):
        NOT_REQUESTED = "", _("No WeChat code asked for")
        PENDING = "pending", _("Waiting for WeChat")
        ISSUED = "issued", _("Issued by WeChat")
        FAILED = "failed", _("Refused or unreachable")

    # Where the request to WeChat for this placement's code stands (a bulk upload queues one
    # request per placement: campaigns.tasks.issue_wechat_qr); the reason is in qr_error.
    qr_request_status = models.CharField(
        _("WeChat code request"),
        max_length=10,
        choices=QRRequest.choices,
        blank=True,
        default="",
        editable=False,
    )
    qr_request_attempts = models.PositiveSmallIntegerField(
        default=0,
        editable=False,
        help_text=_("Requests made to WeChat for this code."),
        verbose_name=_("qr request attempts"),
    )
    # A temporary code renewed gets a new ticket and image: copies of the old one stop
    # working when it expires, which matters for anything printed.
    qr_renewed_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("qr renewed at"))
    qr_renewals = models.PositiveIntegerField(default=0, editable=False, verbose_name=_("qr renewals"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = PlacementQuerySet.as_manager()

    class Meta:
        verbose_name = _("placement")
        verbose_name_plural = _("placements")
        ordering = ["campaign", "name"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="placement_name_unique_in_campaign"),
        ]
        indexes = [
            # Admin filter "QR expiring within 7 days / expired"; the renewal task's due codes.
            models.Index(fields=["qr_expires_at"], name="placement_qr_expires_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign.code} / {self.name}"

    def clean(self) -> None:
        if self.wechat_app_id is not None:
            app_kind = self.wechat_app.kind
            if self.uses_official_account_qr and app_kind != WeChatApp.Kind.OFFICIAL_ACCOUNT:
                raise ValidationError({"wechat_app": "An Official Account QR code needs an Official Account app."})
            if self.qr_kind == self.QRKind.MINI_PROGRAM and app_kind != WeChatApp.Kind.MINI_PROGRAM:
                raise ValidationError({"wechat_app": "A Mini Program code needs a Mini Program app."})
        self._refuse_code_that_cannot_be_issued()

    def _refuse_code_that_cannot_be_issued(self) -> None:
        """A WeChat kind of code WeChat cannot issue would silently become a short link: refuse it
        with the reason instead, so what is printed is what was chosen."""
        if self.qr_kind == self.QRKind.WEB_LINK:
            return
        kind = self.QRKind(self.qr_kind).label
        if self.wechat_app_id is None:
            raise ValidationError(
                {
                    "wechat_app": _(
                        "“%(kind)s” is issued by WeChat: choose the WeChat app (with its AppSecret) that issues it, "
                        "or choose “Web short link”."
                    )
                    % {"kind": kind}
                }
            )
        if not self.wechat_app.has_api_credentials:
            raise ValidationError(
                {
                    "qr_kind": _(
                        "“%(kind)s” cannot be issued: the app %(app)s has no AppSecret. Add it under WeChat apps, "
                        "or choose “Web short link”."
                    )
                    % {"kind": kind, "app": self.wechat_app}
                }
            )

    @property
    def uses_official_account_qr(self) -> bool:
        return self.qr_kind in {self.QRKind.OA_TEMPORARY, self.QRKind.OA_PERMANENT}

    @property
    def wants_wechat_qr(self) -> bool:
        """True when WeChat should issue this code: an Official Account or Mini Program kind
        whose app has a secret. Otherwise the code encodes our short link."""
        wechat_kinds = {self.QRKind.OA_TEMPORARY, self.QRKind.OA_PERMANENT, self.QRKind.MINI_PROGRAM}
        return bool(self.qr_kind in wechat_kinds and self.wechat_app and self.wechat_app.has_api_credentials)

    def short_link_url(self) -> str:
        """The app's own short link for this placement (`/r/<scene>`, served by events)."""
        return f"{settings.PUBLIC_BASE_URL}/r/{self.scene}"

    def qr_content(self) -> str:
        """What the printed code encodes: WeChat's URL when issued, else the short link."""
        return self.qr_url or self.short_link_url()

    @property
    def caption(self) -> str:
        return f"{self.campaign.name} — {self.name}"

    def effective_utm_source(self) -> str:
        return self.utm_source or self.campaign.utm_source

    def effective_utm_medium(self) -> str:
        return self.utm_medium or self.campaign.utm_medium

    PRINTED_KINDS = frozenset({"poster", "store_counter", "packaging", "event_booth"})

    @property
    def is_printed(self) -> bool:
        """Kinds of placement that end up on paper or packaging, where a code cannot be swapped."""
        return self.kind in self.PRINTED_KINDS

    def qr_state(self, *, now=None) -> QRState:
        """The code's status with its reason, in the order a marketer needs to know it."""
        now = now or timezone.now()
        if self.qr_request_status == self.QRRequest.PENDING:
            # Queued for a worker (campaigns.wechat_queue); qr_error holds why the last attempt failed.
            return QRState(
                gettext("waiting for WeChat (%(n)s attempt(s))") % {"n": self.qr_request_attempts},
                self.qr_error or gettext("the code is requested in the background"),
            )
        if self.qr_error:
            return QRState(gettext("WeChat refused"), self.qr_error, needs_attention=True)
        if self.qr_kind != self.QRKind.WEB_LINK and not (self.qr_url or self.qr_image):
            # Rows saved before clean() refused such kinds, or an app whose secret was removed later.
            if self.wechat_app_id is None:
                why = gettext("no WeChat app is chosen")
            elif not self.wechat_app.has_api_credentials:
                why = gettext("the app has no AppSecret")
            else:
                why = gettext("WeChat has not issued the code yet")
            return QRState(gettext("short link"), why, needs_attention=True)
        if self.qr_image:
            return QRState(gettext("Mini Program code"), gettext("drawn by WeChat; it never expires"))
        if self.qr_expires_at is None:
            if self.qr_url:
                return QRState(gettext("issued by WeChat"), gettext("permanent Official Account code"))
            return QRState(gettext("short link"), gettext("a web short link was chosen"))
        expires = timezone.localtime(self.qr_expires_at).strftime("%Y-%m-%d")
        if self.qr_expires_at <= now:
            return QRState(
                gettext("expired %(day)s") % {"day": expires}, gettext("renew it or use a permanent code"), True
            )
        soon = self.qr_expires_within(QR_EXPIRY_WARNING_DAYS, now=now)
        if self.qr_renewed_at is not None:
            label = gettext("renewed %(n)d× (last %(last)s), expires %(day)s") % {
                "n": self.qr_renewals,
                "last": timezone.localtime(self.qr_renewed_at).strftime("%Y-%m-%d"),
                "day": expires,
            }
            why = gettext(
                "A new image each time: printed copies of an earlier code stop working. Use a permanent code for print."
            )
            return QRState(label, why, soon)
        return QRState(
            gettext("expires %(day)s") % {"day": expires},
            gettext("temporary Official Account code, renewed while the campaign runs"),
            soon,
        )

    def qr_expires_within(self, days: int, *, now=None) -> bool:
        if self.qr_expires_at is None:
            return False
        now = now or timezone.now()
        return self.qr_expires_at <= now + timedelta(days=days)


class Creative(models.Model):
    """An ad creative, for the creative and lander-type breakdown (seed §5)."""

    class LanderType(models.TextChoices):
        ARTICLE = "article", _("Article")
        MINI_PROGRAM = "mini_program", _("Mini Program")
        H5 = "h5", _("H5 page")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="creatives", verbose_name=_("campaign")
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    ad_group = models.CharField(max_length=200, blank=True, verbose_name=_("ad group"))
    lander_type = models.CharField(max_length=20, choices=LanderType.choices, verbose_name=_("lander type"))
    landing_url = models.CharField(max_length=500, blank=True, verbose_name=_("landing url"))
    external_id = models.CharField(
        max_length=64, blank=True, help_text=_("The ad id in Tencent Ads."), verbose_name=_("external id")
    )
    notes = models.TextField(blank=True, verbose_name=_("notes"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("creative")
        verbose_name_plural = _("creatives")
        ordering = ["campaign", "name"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="creative_name_unique_in_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign.code} / {self.name}"
