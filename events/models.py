"""What happened: events (append-only), the keys that send them, the rows we could not
accept (kept for replay), and the identities that join one person's ids."""

import hashlib
import secrets
from collections.abc import Sequence
from decimal import Decimal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Campaign, Placement
from wxanalytics.formats import local_datetime

# Sources that only wxanalytics itself writes: WeChat's signed callbacks (Pay, Official
# Account push), short links and imports. A client key claiming one is refused row by row
# (events.ingest.trust); the push of a Mini Program app says `mini_program`, which a client
# key may send, but only through events a phone can see.
SERVER_SOURCES = frozenset({"wechat_pay", "official_account", "short_link", "import"})
SERVER_SOURCE_PREFIX = "import_"  # the import channels: import_ad_spend, import_oa_user_summary…


def is_server_source(source: str) -> bool:
    return source in SERVER_SOURCES or source.startswith(SERVER_SOURCE_PREFIX)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(text: str) -> str:
    """`https://Shop.Example.com:443/` → `https://shop.example.com`: an origin as browsers
    write it in the Origin header (lower case, default port left out, no path), so the
    comparison at ingest is a set look-up. ValueError with the reason otherwise."""
    parts = urlsplit(text.strip())
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(_("%(origin)s is not an origin; write it as https://shop.example.com") % {"origin": text})
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            _("%(origin)s has more than an origin: only scheme, host and port, as in https://shop.example.com")
            % {"origin": text}
        )
    try:
        port = parts.port
    except ValueError:
        raise ValueError(_("%(origin)s has an invalid port") % {"origin": text}) from None
    scheme = parts.scheme.lower()
    host = parts.hostname.encode("idna").decode("ascii") if not parts.hostname.isascii() else parts.hostname
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != _DEFAULT_PORTS[scheme] else "")


class IngestKey(models.Model):
    """A bearer key for `POST /api/v1/events` and `/api/v1/identify`. Only a SHA-256 of the
    key is stored; the prefix stays visible so people can tell keys apart.

    Two kinds, as payment platforms have publishable and secret keys: a *client* key ships
    inside a Mini Program or web page, so everyone has it; it may send what a phone sees
    but not money or server facts, and its identity links are claims (events.ingest.trust,
    events.identity). A *server* key stays on the team's servers and is trusted."""

    PREFIX_LENGTH = 8

    class Kind(models.TextChoices):
        CLIENT = "client", gettext_lazy("Client (public: ships inside a Mini Program or web page)")
        SERVER = "server", gettext_lazy("Server (secret: only on your servers)")

    name = models.CharField(max_length=120, verbose_name=gettext_lazy("name"))
    source = models.CharField(
        max_length=64,
        help_text=gettext_lazy("The one source this key may send as, e.g. mini_program."),
        verbose_name=gettext_lazy("source"),
    )
    # Least privilege by default: a key that can write payments must be asked for.
    kind = models.CharField(
        max_length=6,
        choices=Kind.choices,
        default=Kind.CLIENT,
        help_text=gettext_lazy(
            "Client keys cannot send payments, refunds or other server-only events, and cannot merge people. "
            "Use a server key only where the key stays secret."
        ),
        verbose_name=gettext_lazy("kind"),
    )
    prefix = models.CharField(max_length=PREFIX_LENGTH, editable=False, verbose_name=gettext_lazy("prefix"))
    key_hash = models.CharField(max_length=64, unique=True, editable=False, verbose_name=gettext_lazy("key hash"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=gettext_lazy("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("revoked at"))
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=gettext_lazy("last used at")
    )
    # One origin a line; kept as text (not a PostgreSQL array) so admin edits it as text and
    # the SQLite demo has it too. Normalised by clean(); read through `origins`.
    allowed_origins = models.TextField(
        blank=True,
        default="",
        help_text=gettext_lazy(
            "Client keys only: the web pages allowed to send with this key, one origin a line "
            "(https://shop.example.com). Browsers from other origins are refused and the event API answers "
            "CORS for these only. Empty: no browser restriction and no CORS (Mini Program, reverse proxy)."
        ),
        verbose_name=gettext_lazy("allowed origins"),
    )

    class Meta:
        verbose_name = gettext_lazy("ingest key")
        verbose_name_plural = gettext_lazy("ingest keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.source})"

    @staticmethod
    def hash_key(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @classmethod
    def generate(
        cls, *, name: str, source: str, kind: str, created_by=None, origins: Sequence[str] = ()
    ) -> tuple["IngestKey", str]:
        """Create a key; the raw key is returned once and never stored. ValidationError for
        origins that are not origins, or origins on a server key."""
        raw_key = "wxa_" + secrets.token_urlsafe(32)
        key = cls(
            name=name,
            source=source,
            kind=kind,
            prefix=raw_key[: cls.PREFIX_LENGTH],
            key_hash=cls.hash_key(raw_key),
            created_by=created_by,
            allowed_origins="\n".join(origins),
        )
        key.clean()
        key.save(force_insert=True)
        return key, raw_key

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def is_client(self) -> bool:
        return self.kind == self.Kind.CLIENT

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])

    @cached_property
    def origins(self) -> frozenset[str]:
        """The allowed origins, as normalised by clean()."""
        return frozenset(line.strip() for line in self.allowed_origins.splitlines() if line.strip())

    def allows_origin(self, origin: str | None) -> bool:
        """Whether a request with this Origin header may use the key.

        Only a client key with origins configured is restricted, and only requests that say
        where they come from: a Mini Program's wx.request and servers send no Origin, and
        anything outside a browser can write any Origin it likes, so refusing a missing one
        would stop the Mini Program and protect against nobody. What the list stops is
        another web site using the key from its visitors' browsers."""
        if not self.is_client or not self.origins or origin is None:
            return True
        return origin in self.origins

    def clean(self) -> None:
        # Rows without a source take the key's: a client key would otherwise lend them a
        # server source (a "wechat_pay" client key makes every row look like WeChat's).
        if self.kind == self.Kind.CLIENT and is_server_source(self.source or ""):
            raise ValidationError(
                {
                    "source": _("%(source)s is written by wxanalytics itself; a client key cannot send as it.")
                    % {"source": self.source}
                }
            )
        origins, errors = [], []
        for line in self.allowed_origins.splitlines():
            if not line.strip():
                continue
            try:
                origin = normalise_origin(line)
            except ValueError as exc:
                errors.append(str(exc))
                continue
            if origin not in origins:
                origins.append(origin)
        if errors:
            raise ValidationError({"allowed_origins": errors})
        if origins and self.kind != self.Kind.CLIENT:
            raise ValidationError(
                {"allowed_origins": _("Only client keys have allowed origins; a server key never runs in a browser.")}
            )
        self.allowed_origins = "\n".join(origins)
        self.__dict__.pop("origins", None)


class Event(models.Model):
    """One thing that happened. Append-only: what was sent is never updated after insert;
    only the derived `person_id` follows identity changes (events.people)."""

    # An event as it leaves the database (a person's export, the monthly archive): what
    # was sent and how it was resolved, without the internal keys (dedupe, content hash,
    # sender key).
    RECORD_FIELDS = (
        "id",
        "event_name",
        "user_id",
        "session_id",
        "source",
        "campaign_code",
        "campaign_id",
        "placement_id",
        "app_id",
        "page",
        "value",
        "currency",
        "ts",
        "received_at",
        "event_id",
        "properties",
    )

    event_name = models.CharField(max_length=64, verbose_name=gettext_lazy("event name"))
    user_id = models.CharField(
        max_length=128,
        help_text=gettext_lazy("Whatever id the sender has: openid, unionid, CRM id."),
        verbose_name=gettext_lazy("user id"),
    )
    session_id = models.CharField(max_length=128, blank=True, verbose_name=gettext_lazy("session id"))
    source = models.CharField(max_length=64, blank=True, verbose_name=gettext_lazy("source"))
    campaign_code = models.CharField(
        max_length=64,
        blank=True,
        help_text=gettext_lazy("As sent, even if it matches no campaign."),
        verbose_name=gettext_lazy("campaign code"),
    )
    # No database constraints on the three foreign keys: the ingest write takes their ids
    # from joins and the authenticated key in the same statement, and a constraint would
    # cost a trigger per inserted row (docs/scaling.md). Django still applies on_delete.
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
        verbose_name=gettext_lazy("campaign"),  # event_campaign_ts starts with campaign_id
    )
    placement = models.ForeignKey(
        Placement,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
        verbose_name=gettext_lazy("placement"),  # event_placement, partial
    )
    app_id = models.CharField(
        max_length=32,
        blank=True,
        help_text=gettext_lazy("The WeChat appid the event came through."),
        verbose_name=gettext_lazy("app id"),
    )
    # The person behind user_id (events.people): written at ingest from the identity table
    # and rewritten when identities change, so report queries read it from the row instead
    # of joining the identity table. NULL when the person is user_id itself (most ids):
    # nothing stored, and reports read COALESCE(person_id, user_id).
    person_id = models.CharField(
        max_length=128, null=True, blank=True, editable=False, verbose_name=gettext_lazy("person id")
    )
    page = models.CharField(max_length=200, blank=True, verbose_name=gettext_lazy("page"))
    value = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, verbose_name=gettext_lazy("value")
    )
    currency = models.CharField(max_length=3, blank=True, verbose_name=gettext_lazy("currency"))
    ts = models.DateTimeField(
        help_text=gettext_lazy("When it happened (client time)."), verbose_name=gettext_lazy("ts")
    )
    received_at = models.DateTimeField(default=timezone.now, verbose_name=gettext_lazy("received at"))
    event_id = models.CharField(
        max_length=128,
        blank=True,
        help_text=gettext_lazy("The sender's id, if any."),
        verbose_name=gettext_lazy("event id"),
    )
    # The first 128 bits of each sha256 (events.ingest.dedupe.digest), as in events_eventkey:
    # 16 bytes each instead of 65 as hex text (docs/scaling.md, "Storage").
    dedupe_key = models.UUIDField(
        unique=True,
        help_text=gettext_lazy("sha256 of source + event_id, or of the row's content."),
        verbose_name=gettext_lazy("dedupe key"),
    )
    content_hash = models.UUIDField(
        help_text=gettext_lazy("sha256 of the normalised row, to spot conflicts."),
        verbose_name=gettext_lazy("content hash"),
    )
    properties = models.JSONField(default=dict, blank=True, verbose_name=gettext_lazy("properties"))
    # Which key sent it, kept as history: deleting a key leaves its id here (no scan of
    # every event to clear it, so no index either).
    ingest_key = models.ForeignKey(
        IngestKey,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
        verbose_name=gettext_lazy("ingest key"),
    )

    class Meta:
        verbose_name = gettext_lazy("event")
        verbose_name_plural = gettext_lazy("events")
        # Every index here is read by a named query, and sized for it (docs/scaling.md, "Storage").
        indexes = [
            # Every report: one event name over a period.
            models.Index(fields=["event_name", "ts"], name="event_name_ts"),
            # One id's events: erasure, export, retention, the person rewrite (events.people), the
            # unfollow check, the admin search. user_id alone: the reports read the person
            # (COALESCE(person_id, user_id)), not this, and equal keys share one index entry
            # (B-tree deduplication), a fifth of what (user_id, ts) took; an id's few events
            # are then filtered by ts.
            models.Index(fields=["user_id"], name="event_user"),
            # Campaign reports, attribution's touches, the admin filter, a campaign's deletion
            # (SET_NULL). Events without a campaign are left out: nothing looks them up by it.
            models.Index(
                fields=["campaign", "ts"], name="event_campaign_ts", condition=models.Q(campaign__isnull=False)
            ),
            # Attribution's touches and a placement's deletion (SET_NULL); as above.
            models.Index(fields=["placement"], name="event_placement", condition=models.Q(placement__isnull=False)),
            # Admin list, newest first, and stale-snapshot checks on late arrivals.
            models.Index(fields=["received_at"], name="event_received_at"),
            # Admin search by the sender's event id (OR'd with user_id); rows without one left
            # out. A hash index on PostgreSQL (migration 0024): the search is by equality only.
            models.Index(fields=["event_id"], name="event_event_id", condition=~models.Q(event_id="")),
        ]

    def __str__(self) -> str:
        return _("%(event)s by %(user)s at %(time)s") % {
            "event": self.event_name,
            "user": self.user_id,
            "time": local_datetime(self.ts),
        }


class EventKey(models.Model):
    """The dedupe key of every stored event, in one non-partitioned table (PostgreSQL).

    On PostgreSQL `events_event` is partitioned by month on `ts`, and a unique index on a
    partitioned table must include `ts`, which would let one `event_id` sent with two
    timestamps through. This table's primary key keeps dedupe exact across months; it is
    written in the same transaction as the events (events.ingest.write). The SQLite demo
    keeps the unique `Event.dedupe_key` and leaves this table empty.
    """

    # The first 128 bits of the event's sha256 dedupe key and content hash
    # (events.ingest.dedupe.digest): 16 bytes each instead of 64 characters, which halves
    # the table and its primary key (docs/scaling.md) at a collision chance of 2^-128.
    dedupe_key = models.UUIDField(primary_key=True, verbose_name=gettext_lazy("dedupe key"))
    content_hash = models.UUIDField(verbose_name=gettext_lazy("content hash"))
    ts = models.DateTimeField(
        help_text=gettext_lazy("The event's ts: which month (partition) holds it."), verbose_name=gettext_lazy("ts")
    )

    # PostgreSQL also has a BRIN index on ts (migration 0009), for drop_archived_month's
    # delete of one month's keys: keys arrive roughly in ts order, and a BRIN index costs
    # next to nothing per insert where a B-tree costs a page write.

    class Meta:
        verbose_name = gettext_lazy("event key")
        verbose_name_plural = gettext_lazy("event keys")

    def __str__(self) -> str:
        return str(self.dedupe_key)


class RejectedRowQuerySet(models.QuerySet):
    def keep(self, rows: Sequence["RejectedRow"]) -> list[int]:
        """Store rejected rows once: a row whose sender and content are already kept (a
        client re-sending its batch, WeChat retrying a push, the same bad file imported
        again) is not stored again. One INSERT … ON CONFLICT DO NOTHING on the fingerprint,
        so two requests racing with the same row keep one. Returns the ids of the rows
        that hold them, new or already kept."""
        for row in rows:
            row.fingerprint = row.fingerprint or RejectedRow.fingerprint_of(
                channel=row.channel, source=row.source, ingest_key_id=row.ingest_key_id, raw=row.raw
            )
        if not rows:
            return []
        self.bulk_create(rows, ignore_conflicts=True)
        return list(self.filter(fingerprint__in={row.fingerprint for row in rows}).values_list("pk", flat=True))


class RejectedRow(models.Model):
    """A row we could not store, kept with its raw content and the reason (nothing lost).

    `fingerprint` identifies what was received (channel, sender scope, ingest key and the
    raw text), so the same bad row arriving again is kept once (`RejectedRow.objects.keep`).
    It stays as received when an analyst fixes `raw`: a later copy of the original is still
    the same row."""

    class Reason(models.TextChoices):
        INVALID = "invalid", gettext_lazy("Invalid")
        CONFLICT = "conflict", gettext_lazy("Conflict: different payload under a used event_id")
        FORBIDDEN = (
            "forbidden",
            gettext_lazy(
                "Forbidden: a server-only fact sent with a client key, or a client key used from an origin it does not allow"
            ),
        )

    class Status(models.TextChoices):
        OPEN = "open", gettext_lazy("Open")
        REPLAYED = "replayed", gettext_lazy("Replayed")
        DISMISSED = "dismissed", gettext_lazy("Dismissed")

    channel = models.CharField(
        max_length=32,
        help_text=gettext_lazy("api, csv, wechat_push, wechat_pay, import_…"),
        verbose_name=gettext_lazy("channel"),
    )
    source = models.CharField(
        max_length=64,
        blank=True,
        help_text=gettext_lazy("The sender whose event ids this row's are (reused on replay)."),
        verbose_name=gettext_lazy("source"),
    )
    raw = models.TextField(help_text=gettext_lazy("The row exactly as received."), verbose_name=gettext_lazy("raw"))
    errors = models.JSONField(default=dict, help_text=gettext_lazy("Field → why."), verbose_name=gettext_lazy("errors"))
    reason = models.CharField(
        max_length=10, choices=Reason.choices, default=Reason.INVALID, verbose_name=gettext_lazy("reason")
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, verbose_name=gettext_lazy("status")
    )
    ingest_key = models.ForeignKey(
        IngestKey,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=gettext_lazy("ingest key"),
    )
    row_index = models.IntegerField(
        null=True,
        blank=True,
        help_text=gettext_lazy("Index in its batch, or CSV line."),
        verbose_name=gettext_lazy("row index"),
    )
    received_at = models.DateTimeField(default=timezone.now, verbose_name=gettext_lazy("received at"))
    replayed_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("replayed at"))
    replayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=gettext_lazy("replayed by"),
    )
    # Null for rows kept without `keep` (none in our code): those are simply not deduplicated.
    fingerprint = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False, verbose_name=gettext_lazy("fingerprint")
    )

    objects = RejectedRowQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("rejected row")
        verbose_name_plural = gettext_lazy("rejected rows")
        indexes = [
            # Admin list: open rows, newest first.
            models.Index(fields=["status", "received_at"], name="rejected_status_received"),
            # Admin list of all rows (or by reason/channel), newest first: no sort of the table.
            models.Index(fields=["received_at"], name="rejected_received"),
        ]

    def __str__(self) -> str:
        return _("%(channel)s row rejected at %(time)s") % {
            "channel": self.channel,
            "time": local_datetime(self.received_at),
        }

    @staticmethod
    def fingerprint_of(*, channel: str, source: str, ingest_key_id: int | None, raw: str) -> str:
        """sha256 of what was received and from whom. Migration 0013 computes the same."""
        material = "\x1f".join((channel, source or "", str(ingest_key_id or ""), raw))
        return hashlib.sha256(material.encode("utf-8", "backslashreplace")).hexdigest()


class Identity(models.Model):
    """Joins the ids of one person. `person_id` is the unionid when known, otherwise the
    first id seen; reports count COALESCE(person_id, user_id)."""

    class LinkedBy(models.TextChoices):
        UNIONID = "unionid", gettext_lazy("unionid (WeChat)")
        ALIAS = "alias", gettext_lazy("Alias call")

    user_id = models.CharField(max_length=128, unique=True, verbose_name=gettext_lazy("user id"))
    person_id = models.CharField(max_length=128, db_index=True, verbose_name=gettext_lazy("person id"))
    app_id = models.CharField(max_length=32, blank=True, verbose_name=gettext_lazy("app id"))
    linked_by = models.CharField(
        max_length=10,
        choices=LinkedBy.choices,
        default=LinkedBy.ALIAS,
        help_text=gettext_lazy(
            "How we learned it; a person whose ids were joined by a unionid keeps the unionid as person_id."
        ),
        verbose_name=gettext_lazy("linked by"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        verbose_name = gettext_lazy("identity")
        verbose_name_plural = gettext_lazy("identities")

    def __str__(self) -> str:
        return f"{self.user_id} → {self.person_id}"


class PersonChange(models.Model):
    """An id whose person changed (a link or merge in events.identity) and whose events
    still carry the old one. Written in the link's transaction, so no change is lost if the
    queue is down; events.people.rewrite_pending_people works the list off in bounded
    rounds and deletes each row once its events and first touches are rewritten."""

    user_id = models.CharField(max_length=128, primary_key=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.user_id


class ReceivedCheckpoint(models.Model):
    """How far a pass over the events in received order has got: every event before
    (`received_at`, `event_ref`) in that order has been looked at. One row per pass, named by
    `name`; events.people's check of the person on received events keeps the first."""

    name = models.CharField(max_length=64, primary_key=True)
    received_at = models.DateTimeField()
    event_ref = models.BigIntegerField(default=0)  # the event's id; 0: every event received before received_at
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.received_at.isoformat()} #{self.event_ref}"


class FirstTouch(models.Model):
    """Each person's first event ever, and their first event with a placement (cohorts and
    attribution), kept up to date as events arrive (events.ingest.write) and through
    identity changes (events.people): a report reads one row per person instead of
    scanning all history for MIN(ts).

    The columns are the first event's own facts as stored (ids, source, appid and the
    creative and ad group it named); what they resolve to (a placement's campaign, a
    creative's ad group) is looked up by the report, so editing a campaign or creative
    needs no rewrite here. Ties at the same instant go to the lower event id, as in the
    reports."""

    person = models.CharField(max_length=128, primary_key=True)
    ts = models.DateTimeField()
    event_ref = models.BigIntegerField(help_text="The first event's id (ties at one instant go to the lower id).")
    campaign_id = models.IntegerField(null=True, blank=True)
    placement_id = models.IntegerField(null=True, blank=True)
    source = models.CharField(max_length=64)
    app_id = models.CharField(max_length=32)
    creative_ref = models.TextField(null=True, blank=True, help_text="properties.creative_id, as sent.")
    ad_group = models.TextField(null=True, blank=True, help_text="properties.ad_group, as sent.")
    entry_ts = models.DateTimeField(null=True, blank=True, help_text="The first event with a placement.")
    entry_ref = models.BigIntegerField(null=True, blank=True)
    entry_placement_id = models.IntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            # Cohorts: the people first seen in a period.
            models.Index(fields=["ts"], name="firsttouch_ts"),
        ]

    def __str__(self) -> str:
        return _("%(person)s first seen %(time)s") % {"person": self.person, "time": local_datetime(self.ts)}


class UnionidLookup(models.Model):
    """An Official Account openid WeChat's user-info API returned no unionid for (the account
    was not bound to an Open Platform account yet, or the follower left). It is asked about
    again after a wait that doubles with each miss, not on every hourly run."""

    app_id = models.CharField(max_length=32, verbose_name=gettext_lazy("app id"))
    openid = models.CharField(max_length=128, verbose_name=gettext_lazy("openid"))
    misses = models.PositiveIntegerField(default=1, verbose_name=gettext_lazy("misses"))
    last_asked_at = models.DateTimeField(verbose_name=gettext_lazy("last asked at"))
    next_ask_at = models.DateTimeField(verbose_name=gettext_lazy("next ask at"))

    class Meta:
        verbose_name = gettext_lazy("unionid lookup")
        verbose_name_plural = gettext_lazy("unionid lookups")
        constraints = [
            models.UniqueConstraint(fields=["app_id", "openid"], name="unionidlookup_app_openid"),
        ]
        indexes = [
            # unlinked_followers: openids of one app not to ask about yet (next_ask_at > now).
            models.Index(fields=["app_id", "next_ask_at"], name="unionidlookup_due_idx"),
        ]

    def __str__(self) -> str:
        return _("%(app)s %(openid)s (%(misses)s misses)") % {
            "app": self.app_id,
            "openid": self.openid,
            "misses": self.misses,
        }


class AdSpend(models.Model):
    """One day of one ad (campaign × ad group × creative), imported from Tencent Ads (seed §5).

    Natural key: (date, campaign_code, ad_group, creative_name); re-importing replaces the row.
    Money in yuan.
    """

    date = models.DateField(verbose_name=gettext_lazy("date"))
    campaign_code = models.CharField(max_length=64, verbose_name=gettext_lazy("campaign code"))
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=gettext_lazy("campaign"),
    )
    ad_group = models.CharField(max_length=200, blank=True, verbose_name=gettext_lazy("ad group"))
    creative_name = models.CharField(max_length=200, blank=True, verbose_name=gettext_lazy("creative name"))
    creative = models.ForeignKey(
        "campaigns.Creative",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=gettext_lazy("creative"),
    )
    spend = models.DecimalField(max_digits=14, decimal_places=2, verbose_name=gettext_lazy("spend"))
    impressions = models.PositiveBigIntegerField(default=0, verbose_name=gettext_lazy("impressions"))
    clicks = models.PositiveBigIntegerField(default=0, verbose_name=gettext_lazy("clicks"))
    reach = models.PositiveBigIntegerField(default=0, verbose_name=gettext_lazy("reach"))
    imported_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("imported at"))

    class Meta:
        verbose_name = gettext_lazy("ad spend")
        verbose_name_plural = gettext_lazy("ad spend")
        constraints = [
            models.UniqueConstraint(
                fields=["date", "campaign_code", "ad_group", "creative_name"], name="adspend_natural_key"
            ),
        ]
        indexes = [
            # Ads report and daily health check: spend by campaign over a period.
            models.Index(fields=["campaign", "date"], name="adspend_campaign_date"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.campaign_code} {self.ad_group} {self.creative_name}"

    @property
    def ctr(self) -> Decimal | None:
        """Clicks per impression, 0–1; None without impressions."""
        return Decimal(self.clicks) / Decimal(self.impressions) if self.impressions else None

    @property
    def cpc(self) -> Decimal | None:
        """Yuan per click; None without clicks."""
        return (self.spend / self.clicks).quantize(Decimal("0.01")) if self.clicks else None


class OAUserSummary(models.Model):
    """Official Account daily user summary (datacube getusersummary/getusercumulate)."""

    app_id = models.CharField(max_length=32, verbose_name=gettext_lazy("app id"))
    date = models.DateField(verbose_name=gettext_lazy("date"))
    user_source = models.CharField(
        max_length=40,
        default="all",
        help_text=gettext_lazy("WeChat's user_source, or 'all'."),
        verbose_name=gettext_lazy("user source"),
    )
    new_users = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("new users"))
    cancelled_users = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("cancelled users"))
    cumulative_users = models.PositiveIntegerField(null=True, blank=True, verbose_name=gettext_lazy("cumulative users"))
    imported_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("imported at"))

    class Meta:
        verbose_name = gettext_lazy("Official Account user summary")
        verbose_name_plural = gettext_lazy("Official Account user summaries")
        constraints = [
            models.UniqueConstraint(fields=["app_id", "date", "user_source"], name="oausersummary_natural_key"),
        ]

    def __str__(self) -> str:
        return f"{self.app_id} {self.date} {self.user_source}"


class ArticleStat(models.Model):
    """Official Account article statistics per day (datacube article APIs)."""

    app_id = models.CharField(max_length=32, verbose_name=gettext_lazy("app id"))
    date = models.DateField(verbose_name=gettext_lazy("date"))
    msgid = models.CharField(
        max_length=64,
        help_text=gettext_lazy("WeChat's msgid_index of the article."),
        verbose_name=gettext_lazy("msgid"),
    )
    title = models.CharField(max_length=300, blank=True, verbose_name=gettext_lazy("title"))
    published_on = models.DateField(null=True, blank=True, verbose_name=gettext_lazy("published on"))
    reads = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("reads"))
    read_users = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("read users"))
    completion_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        help_text=gettext_lazy("Share of readers who read to the end, 0–1."),
        verbose_name=gettext_lazy("completion rate"),
    )
    shares = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("shares"))
    favourites = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("favourites"))
    imported_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("imported at"))

    class Meta:
        verbose_name = gettext_lazy("article stat")
        verbose_name_plural = gettext_lazy("article stats")
        constraints = [
            models.UniqueConstraint(fields=["app_id", "date", "msgid"], name="articlestat_natural_key"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.title or self.msgid}"


class MiniProgramPageStat(models.Model):
    """Mini Program page statistics per day (datacube getvisitpage)."""

    app_id = models.CharField(max_length=32, verbose_name=gettext_lazy("app id"))
    date = models.DateField(verbose_name=gettext_lazy("date"))
    page_path = models.CharField(max_length=200, verbose_name=gettext_lazy("page path"))
    visits = models.PositiveIntegerField(
        default=0, help_text=gettext_lazy("page_visit_pv"), verbose_name=gettext_lazy("visits")
    )
    visitors = models.PositiveIntegerField(
        default=0, help_text=gettext_lazy("page_visit_uv"), verbose_name=gettext_lazy("visitors")
    )
    stay_time_seconds = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, verbose_name=gettext_lazy("stay time seconds")
    )
    entries = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("entries"))
    exits = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("exits"))
    shares = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("shares"))
    imported_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("imported at"))

    class Meta:
        verbose_name_plural = gettext_lazy("Mini Program page stats")
        verbose_name = gettext_lazy("Mini Program page stat")
        constraints = [
            models.UniqueConstraint(fields=["app_id", "date", "page_path"], name="mppagestat_natural_key"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.page_path}"


class ImportRun(models.Model):
    """One file imported in the background (a large admin upload): the file waits in storage
    until the worker reads it; progress is bytes read, since a stream's row count is known
    only at its end. `summary` is the ImportSummary when done."""

    class Status(models.TextChoices):
        QUEUED = "queued", gettext_lazy("Queued")
        RUNNING = "running", gettext_lazy("Importing")
        DONE = "done", gettext_lazy("Done")
        FAILED = "failed", gettext_lazy("Failed")

    kind = models.CharField(
        max_length=32,
        help_text=gettext_lazy("ad_spend, oa_user_summary, article_stats, mp_page_stats"),
        verbose_name=gettext_lazy("kind"),
    )
    file = models.FileField(
        upload_to="imports/",
        blank=True,
        help_text=gettext_lazy("Deleted once imported."),
        verbose_name=gettext_lazy("file"),
    )
    file_name = models.CharField(
        max_length=255, help_text=gettext_lazy("As uploaded."), verbose_name=gettext_lazy("file name")
    )
    defaults = models.JSONField(
        default=dict,
        blank=True,
        help_text=gettext_lazy("Values for the whole file (app_id, date)."),
        verbose_name=gettext_lazy("defaults"),
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED, verbose_name=gettext_lazy("status")
    )
    bytes_total = models.PositiveBigIntegerField(default=0, verbose_name=gettext_lazy("bytes total"))
    bytes_done = models.PositiveBigIntegerField(default=0, verbose_name=gettext_lazy("bytes done"))
    summary = models.JSONField(default=dict, blank=True, verbose_name=gettext_lazy("summary"))
    error = models.TextField(blank=True, verbose_name=gettext_lazy("error"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=gettext_lazy("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("finished at"))

    class Meta:
        verbose_name = gettext_lazy("import run")
        verbose_name_plural = gettext_lazy("import runs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return _("%(kind)s import of %(file)s") % {"kind": self.kind, "file": self.file_name}

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, self.bytes_done * 100 // self.bytes_total) if self.bytes_total else 0

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class PayMerchant(models.Model):
    """A WeChat Pay merchant whose API v3 notifications we accept at /wechat/pay/<mchid>/notify/.

    The API v3 key decrypts notifications, so it is stored as entered and never shown back
    (admin and API only let it be replaced). The platform key is public.
    """

    API_V3_KEY_LENGTH = 32

    mchid = models.CharField(
        max_length=32,
        unique=True,
        help_text=gettext_lazy("商户号, the merchant id."),
        verbose_name=gettext_lazy("mchid"),
    )
    name = models.CharField(max_length=120, blank=True, verbose_name=gettext_lazy("name"))
    appid = models.CharField(
        max_length=32,
        blank=True,
        help_text=gettext_lazy("Default appid for events when a notification has none."),
        verbose_name=gettext_lazy("appid"),
    )
    api_v3_key = models.CharField(
        max_length=API_V3_KEY_LENGTH,
        help_text=gettext_lazy("APIv3 key: 32 characters."),
        verbose_name=gettext_lazy("api v3 key"),
    )
    platform_key_serial = models.CharField(
        max_length=64,
        blank=True,
        help_text=gettext_lazy(
            "Wechatpay-Serial of the key below: PUB_KEY_ID_… for a public key; for a platform certificate "
            "leave it empty and it is read from the certificate."
        ),
        verbose_name=gettext_lazy("platform key serial"),
    )
    platform_public_key = models.TextField(
        help_text=gettext_lazy(
            "WeChat Pay public key or platform certificate, PEM (-----BEGIN PUBLIC KEY----- or CERTIFICATE)."
        ),
        verbose_name=gettext_lazy("platform public key"),
    )
    # WeChat Pay may sign with either key while a merchant moves from platform
    # certificates to the WeChat Pay public key (WECHAT.md §6): keep the other one here.
    second_key_serial = models.CharField(
        max_length=64,
        blank=True,
        help_text=gettext_lazy(
            "Optional second key, used while WeChat Pay migrates keys (read from a certificate when empty)."
        ),
        verbose_name=gettext_lazy("second key serial"),
    )
    second_public_key = models.TextField(
        blank=True, help_text=gettext_lazy("PEM of the second key."), verbose_name=gettext_lazy("second public key")
    )
    is_active = models.BooleanField(
        default=True,
        help_text=gettext_lazy("Inactive merchants' notifications are refused (404)."),
        verbose_name=gettext_lazy("is active"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=gettext_lazy("updated at"))

    class Meta:
        verbose_name_plural = gettext_lazy("WeChat Pay merchants")
        verbose_name = gettext_lazy("WeChat Pay merchant")
        ordering = ["mchid"]
        constraints = [
            models.CheckConstraint(
                condition=Exact(Length("api_v3_key"), 32),
                name="paymerchant_api_v3_key_32_chars",
                violation_error_message="The API v3 key must be exactly 32 characters.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or _('Merchant')} ({self.mchid})"

    @staticmethod
    def _load_key(pem_text: str) -> rsa.RSAPublicKey:
        pem = pem_text.strip().encode()
        key = x509.load_pem_x509_certificate(pem).public_key() if b"CERTIFICATE" in pem else load_pem_public_key(pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("The WeChat Pay platform key must be an RSA key.")
        return key

    @staticmethod
    def certificate_serial(pem_text: str) -> str:
        """The serial of a platform certificate as WeChat Pay writes it in `Wechatpay-Serial`
        (upper-case hexadecimal); "" for a bare public key."""
        pem = pem_text.strip().encode()
        if b"CERTIFICATE" not in pem:
            return ""
        return f"{x509.load_pem_x509_certificate(pem).serial_number:X}"

    @staticmethod
    def same_serial(first: str, second: str) -> bool:
        """Certificate serials are hexadecimal numbers: `5157f0…` and `5157F0…` (or with a
        leading zero) name the same certificate. PUB_KEY_ID_… ids compare the same way."""

        def normal(serial: str) -> str:
            return serial.strip().upper().lstrip("0")

        return bool(first and second) and normal(first) == normal(second)

    def platform_key_for(self, serial: str) -> rsa.RSAPublicKey | None:
        """The key WeChat Pay names in `Wechatpay-Serial` (a bare key or a certificate), or None."""
        if self.same_serial(serial, self.platform_key_serial):
            return self._load_key(self.platform_public_key)
        if self.same_serial(serial, self.second_key_serial) and self.second_public_key:
            return self._load_key(self.second_public_key)
        return None

    def clean(self) -> None:
        errors = {}
        if len(self.api_v3_key or "") != self.API_V3_KEY_LENGTH or not self.api_v3_key.isascii():
            errors["api_v3_key"] = (
                "The API v3 key must be exactly 32 characters (ASCII letters and digits, from the merchant platform)."
            )
        keys = [("platform_key_serial", "platform_public_key")]
        if self.second_key_serial or self.second_public_key:
            keys.append(("second_key_serial", "second_public_key"))
        for serial_field, key_field in keys:
            pem = getattr(self, key_field)
            try:
                self._load_key(pem)
                from_certificate = self.certificate_serial(pem)
            except (ValueError, UnsupportedAlgorithm) as exc:
                errors[key_field] = f"Not a usable RSA public key or certificate in PEM: {exc}"
                continue
            typed = getattr(self, serial_field).strip()
            if from_certificate and not typed:
                setattr(self, serial_field, from_certificate)
            elif from_certificate and not self.same_serial(typed, from_certificate):
                # A wrong serial would fail every notification for WeChat's 24 hours of retries.
                errors[serial_field] = _(
                    "This certificate's serial number is {certificate}, not {typed}. "
                    "Leave the serial empty to take it from the certificate."
                ).format(certificate=from_certificate, typed=typed)
            elif not typed:
                errors[serial_field] = _(
                    "Give the id of this public key (PUB_KEY_ID_…), as the merchant platform shows it."
                )
        if errors:
            raise ValidationError(errors)


class ErasureRecord(models.Model):
    """One erasure of a person (PIPL right to deletion, docs/privacy.md).

    Keeps who asked, when and how much was removed, and keyed hashes (HMAC) of the erased
    ids, never the ids: with the key, support can answer "was this id erased?" without the
    record itself identifying anyone.
    """

    class Trigger(models.TextChoices):
        REQUEST = "request", gettext_lazy("Request")
        UNFOLLOW = "unfollow", gettext_lazy("Erase on unfollow")

    trigger = models.CharField(
        max_length=10, choices=Trigger.choices, default=Trigger.REQUEST, verbose_name=gettext_lazy("trigger")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=gettext_lazy("requested by"),
    )
    # Kept as text too: the record outlives the account of whoever asked.
    requested_by_name = models.CharField(max_length=150, blank=True, verbose_name=gettext_lazy("requested by name"))
    note = models.CharField(
        max_length=200,
        blank=True,
        help_text=gettext_lazy("Ticket or request reference; never the person's ids or name."),
        verbose_name=gettext_lazy("note"),
    )
    erased_at = models.DateTimeField(default=timezone.now, verbose_name=gettext_lazy("erased at"))
    id_hashes = models.JSONField(
        default=list,
        help_text=gettext_lazy("HMAC-SHA256 of each erased id (events.privacy.hashing)."),
        verbose_name=gettext_lazy("id hashes"),
    )
    events = models.PositiveBigIntegerField(default=0, verbose_name=gettext_lazy("events"))
    event_keys = models.PositiveBigIntegerField(
        default=0,
        help_text=gettext_lazy("Dedupe keys (events_eventkey) marked erased: a retry of the event stays a duplicate."),
        verbose_name=gettext_lazy("event keys"),
    )
    identities = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("identities"))
    rejected_rows = models.PositiveIntegerField(default=0, verbose_name=gettext_lazy("rejected rows"))
    unionid_lookups = models.PositiveIntegerField(
        default=0,
        help_text=gettext_lazy("Follower unionid look-ups removed."),
        verbose_name=gettext_lazy("unionid lookups"),
    )
    stale_snapshots = models.PositiveIntegerField(
        default=0,
        help_text=gettext_lazy("Snapshots marked stale for a rebuild."),
        verbose_name=gettext_lazy("stale snapshots"),
    )

    class Meta:
        verbose_name = gettext_lazy("erasure record")
        verbose_name_plural = gettext_lazy("erasure records")
        ordering = ["-erased_at"]
        permissions = [
            ("export_person", "Can export a person's data"),
            ("erase_person", "Can erase a person's data"),
        ]

    def __str__(self) -> str:
        return _("Erasure %(number)s at %(time)s") % {"number": self.pk, "time": local_datetime(self.erased_at)}
