"""The four import kinds: their columns (with the header names other tools use), natural
keys, cross-field checks and lookups. docs/imports.md describes the same in prose; keep them
in step."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_noop

from campaigns.models import Campaign, Creative
from events.models import AdSpend, ArticleStat, MiniProgramPageStat, OAUserSummary

from .fields import (
    Column,
    fen_to_yuan,
    parse_app_id,
    parse_count,
    parse_count_32,
    parse_date,
    parse_money,
    parse_rate,
    parse_seconds,
    text_parser,
)


@dataclass(frozen=True)
class HeaderRole:
    """`header` means `column` when the file also has `when_present`; alone it keeps its
    ordinary meaning. WeChat uses one name for two days: getarticlesummary's `ref_date` is the
    statistics day, getarticletotal's `ref_date` is the send day next to `stat_date`."""

    header: str
    when_present: str
    column: str


@dataclass(frozen=True)
class ImportSpec:
    kind: str
    model: type[models.Model]
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...]
    # Column name → model field, where they differ (the file says `campaign`, the table
    # keeps `campaign_code` next to the resolved foreign key).
    attrs: dict[str, str] = field(default_factory=dict)
    # Cross-field rules on the parsed values: return {column: why} for a bad row.
    check: Callable[[dict[str, Any]], dict[str, str]] | None = None
    # Bulk lookups for one chunk of objects (foreign keys); returns values that matched nothing.
    resolve: Callable[[list[models.Model], dict], set[str]] | None = None
    unmatched_label: str = ""
    # Fields set by `resolve`, written on re-import too.
    resolved_fields: tuple[str, ...] = ()
    # Columns a caller may give once for the whole file (e.g. datacube exports have no appid).
    file_defaults: tuple[str, ...] = ()
    header_roles: tuple[HeaderRole, ...] = ()
    # One data line under the canonical header, for the admin's template file and docs.
    example: str = ""

    @property
    def header_line(self) -> str:
        return ",".join(column.name for column in self.columns)

    def attr(self, column: Column) -> str:
        return self.attrs.get(column.name, column.name)

    @property
    def update_fields(self) -> list[str]:
        updated = [self.attr(c) for c in self.columns if self.attr(c) not in self.natural_key]
        return [*updated, *self.resolved_fields, "imported_at"]

    def unchanged_unless(self, given: set[str]) -> set[str]:
        """Model fields a re-import leaves alone because the file has no column for them."""
        return {self.attr(c) for c in self.columns if c.name not in given and self.attr(c) not in self.natural_key}

    def key_of(self, obj: models.Model) -> tuple:
        return tuple(getattr(obj, name) for name in self.natural_key)

    @property
    def permission(self) -> str:
        meta = self.model._meta
        return f"{meta.app_label}.add_{meta.model_name}"


# --- ad spend ---------------------------------------------------------------------------


def _check_ad_spend(values: dict[str, Any]) -> dict[str, str]:
    errors = {}
    impressions = values.get("impressions") or 0
    if (values.get("clicks") or 0) > impressions:
        errors["clicks"] = f"{values['clicks']} clicks is more than {impressions} impressions."
    if (values.get("reach") or 0) > impressions:
        errors["reach"] = f"reach {values['reach']} is more than {impressions} impressions."
    return errors


def _resolve_ad_spend(objs: list[AdSpend], cache: dict) -> set[str]:
    """Link rows to campaigns by code (exact, then ignoring case) and to creatives by name
    within that campaign. Unknown codes stay as text: the spend is real even if the code
    has a typo, and the summary lists them so someone can fix the campaign or the file."""
    campaigns: dict[str, int | None] = cache.setdefault("campaigns", {})
    missing = {obj.campaign_code for obj in objs} - campaigns.keys()
    if missing:
        found = dict(Campaign.objects.filter(code__in=missing).values_list("code", "id"))
        still = {code.upper(): code for code in missing - found.keys()}
        if still:
            for upper, pk in (
                Campaign.objects.annotate(upper=Upper("code")).filter(upper__in=still).values_list("upper", "id")
            ):
                found[still[upper]] = pk
        for code in missing:
            campaigns[code] = found.get(code)

    creatives: dict[tuple[int, str], int | None] = cache.setdefault("creatives", {})
    wanted = {
        (campaigns[obj.campaign_code], obj.creative_name)
        for obj in objs
        if campaigns[obj.campaign_code] and obj.creative_name
    } - creatives.keys()
    if wanted:
        rows = Creative.objects.filter(
            campaign_id__in={pk for pk, _ in wanted}, name__in={name for _, name in wanted}
        ).values_list("campaign_id", "name", "id")
        found_creatives = {(campaign_id, name): pk for campaign_id, name, pk in rows}
        for pair in wanted:
            creatives[pair] = found_creatives.get(pair)

    unmatched = set()
    for obj in objs:
        obj.campaign_id = campaigns[obj.campaign_code]
        if obj.campaign_id is None:
            unmatched.add(obj.campaign_code)
            obj.creative_id = None
        else:
            obj.creative_id = creatives.get((obj.campaign_id, obj.creative_name))
    return unmatched


AD_SPEND = ImportSpec(
    kind="ad_spend",
    model=AdSpend,
    columns=(
        Column("date", parse_date, aliases=("ref_date", "day", "stat_date", "日期"), required=True),
        Column(
            "campaign",
            text_parser(64),
            aliases=("campaign_code", "utm_campaign", "campaign_name", "计划名称", "推广计划"),
            required=True,
        ),
        Column("ad_group", text_parser(200), aliases=("adgroup", "adgroup_name", "ad_set", "广告组"), default=""),
        Column("creative", text_parser(200), aliases=("creative_name", "ad_name", "ad", "广告", "创意"), default=""),
        Column(
            "spend",
            parse_money,
            aliases=("cost", "spend_yuan", "cost_yuan", "花费"),
            required=True,
            alias_transforms={"cost_fen": fen_to_yuan, "spend_fen": fen_to_yuan},
        ),
        Column("impressions", parse_count, aliases=("view_count", "impression", "曝光量", "曝光次数"), default=0),
        Column("clicks", parse_count, aliases=("valid_click_count", "click_count", "点击量", "点击次数"), default=0),
        Column("reach", parse_count, aliases=("view_user_count", "reach_users", "曝光人数"), default=0),
    ),
    natural_key=("date", "campaign_code", "ad_group", "creative_name"),
    attrs={"campaign": "campaign_code", "creative": "creative_name"},
    check=_check_ad_spend,
    resolve=_resolve_ad_spend,
    unmatched_label=gettext_noop("campaign codes that match no campaign (rows kept, not linked)"),
    resolved_fields=("campaign", "creative"),
    example="2025-11-01,23Q4-Sale,Moments 25-34,Red poster,120.50,10000,150,8000",
)


# --- Official Account ---------------------------------------------------------------------

APP_ID_COLUMN = Column("app_id", parse_app_id, aliases=("appid", "wechat_app_id"), required=True)


OA_USER_SUMMARY = ImportSpec(
    kind="oa_user_summary",
    model=OAUserSummary,
    columns=(
        APP_ID_COLUMN,
        Column("date", parse_date, aliases=("ref_date", "日期", "时间"), required=True),
        Column("user_source", text_parser(40), aliases=("source",), default="all"),
        Column("new_users", parse_count_32, aliases=("new_user", "新关注人数"), default=0),
        Column(
            "cancelled_users",
            parse_count_32,
            aliases=("cancel_user", "cancelled_user", "canceled_users", "cancel_users", "取消关注人数"),
            default=0,
        ),
        Column("cumulative_users", parse_count_32, aliases=("cumulate_user", "cumulative_user", "累积关注人数")),
    ),
    natural_key=("app_id", "date", "user_source"),
    file_defaults=("app_id",),
    example="wxoa123,2025-11-01,30,40,3,1200",
)


def _check_article(values: dict[str, Any]) -> dict[str, str]:
    errors = {}
    reads, read_users = values.get("reads") or 0, values.get("read_users") or 0
    if read_users > reads:
        errors["read_users"] = f"{read_users} read users is more than {reads} reads."
    published_on, day = values.get("published_on"), values.get("date")
    if published_on and day and published_on > day:
        errors["published_on"] = f"published on {published_on} is after the stats date {day}."
    return errors


ARTICLE_STATS = ImportSpec(
    kind="article_stats",
    model=ArticleStat,
    columns=(
        APP_ID_COLUMN,
        Column("date", parse_date, aliases=("ref_date", "stat_date", "日期", "时间"), required=True),
        Column("msgid", text_parser(64), aliases=("msg_id", "msgid_index", "article_id"), required=True),
        Column("title", text_parser(300), aliases=("article_title", "标题", "文章标题"), default=""),
        Column(
            "published_on",
            parse_date,
            aliases=("publish_date", "published", "send_date", "发表日期", "发表时间", "发布时间", "群发时间"),
        ),
        Column("reads", parse_count_32, aliases=("int_page_read_count", "read_count", "阅读次数", "阅读量"), default=0),
        Column("read_users", parse_count_32, aliases=("int_page_read_user", "read_user", "阅读人数"), default=0),
        Column("completion_rate", parse_rate, aliases=("completion", "read_completion_rate", "完读率")),
        Column("shares", parse_count_32, aliases=("share_count", "分享次数"), default=0),
        Column(
            "favourites",
            parse_count_32,
            aliases=("favorites", "add_to_fav_count", "fav_count", "收藏次数"),
            default=0,
        ),
    ),
    natural_key=("app_id", "date", "msgid"),
    check=_check_article,
    file_defaults=("app_id",),
    header_roles=(HeaderRole(header="ref_date", when_present="stat_date", column="published_on"),),
    example="wxoa123,2025-11-01,2247483647_1,Autumn sale,2025-11-01,900,700,63%,40,12",
)


# --- Mini Program -------------------------------------------------------------------------


def _check_page(values: dict[str, Any]) -> dict[str, str]:
    visits, visitors = values.get("visits") or 0, values.get("visitors") or 0
    if visitors > visits:
        return {"visitors": f"{visitors} visitors is more than {visits} visits."}
    return {}


MP_PAGE_STATS = ImportSpec(
    kind="mp_page_stats",
    model=MiniProgramPageStat,
    columns=(
        APP_ID_COLUMN,
        Column("date", parse_date, aliases=("ref_date", "日期", "时间"), required=True),
        Column("page_path", text_parser(200), aliases=("page", "path", "页面路径"), required=True),
        Column("visits", parse_count_32, aliases=("page_visit_pv", "pv", "访问次数"), default=0),
        Column("visitors", parse_count_32, aliases=("page_visit_uv", "uv", "访问人数"), default=0),
        Column(
            "stay_time_seconds",
            parse_seconds,
            aliases=("page_staytime_pv", "stay_time", "avg_stay_time", "次均停留时长", "次均时长"),
        ),
        Column("entries", parse_count_32, aliases=("entrypage_pv", "entry_pv", "入口页次数"), default=0),
        Column("exits", parse_count_32, aliases=("exitpage_pv", "exit_pv", "退出页次数"), default=0),
        Column("shares", parse_count_32, aliases=("page_share_pv", "share_pv", "分享次数"), default=0),
    ),
    natural_key=("app_id", "date", "page_path"),
    check=_check_page,
    # getVisitPage puts ref_date once, outside list[]; a flattened export may have lost it.
    file_defaults=("app_id", "date"),
    example="wxmp456,20251101,pages/index/index,5000,3000,12.5,2500,1200,30",
)


SPECS: dict[str, ImportSpec] = {spec.kind: spec for spec in (AD_SPEND, OA_USER_SUMMARY, ARTICLE_STATS, MP_PAGE_STATS)}
