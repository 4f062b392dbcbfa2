"""The platform statistics a team would import for the demo journey, as CSV rows: ad spend
per day × campaign × ad group × creative, and the Official Account and Mini Program numbers
counted while the journey was generated. They go in through events.imports like any file."""

import csv
import io
import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from .journey import ARTICLE_TITLES, CAMPAIGN_QUALITY, MP_APPID, OA_APPID, Stats, Window, demo_campaigns


def csv_file(rows: list[list[Any]]) -> io.BytesIO:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return io.BytesIO(text.getvalue().encode())


def ad_spend_rows(*, window: Window, users: int, seed: int) -> list[list[Any]]:
    """Day × campaign × ad group × creative for the campaigns with creatives. The first
    creative of D11-Encore fatigues: CTR falls and CPC rises across the window."""
    lines: list[list[Any]] = [["date", "campaign", "ad_group", "creative", "spend", "impressions", "clicks", "reach"]]
    for campaign in demo_campaigns():
        creatives = list(campaign.creatives.order_by("name"))
        if not creatives:
            continue
        quality = CAMPAIGN_QUALITY.get(campaign.code, 1.0)
        for n, creative in enumerate(creatives):
            rng = random.Random(f"{seed}:spend:{campaign.code}:{creative.name}")
            fatigues = campaign.code == "D11-Encore" and n == 0
            base_ctr = rng.uniform(0.016, 0.024) * min(quality, 1.1)
            base_cpc = rng.uniform(3.0, 4.5) / quality  # yuan; KOL clicks cost about twice as much
            for d in range(window.days):
                day = window.start.date() + timedelta(days=d)
                if (campaign.starts_on and day < campaign.starts_on) or (campaign.ends_on and day > campaign.ends_on):
                    continue
                wear = d / max(1, window.days - 1) if fatigues else 0.0
                ctr = base_ctr * (1 - 0.6 * wear) * rng.uniform(0.93, 1.07)
                cpc = base_cpc * (1 + 0.9 * wear) * rng.uniform(0.95, 1.05)
                clicks = max(3, round(users / 60 / len(creatives) * quality * rng.uniform(0.8, 1.2)))
                impressions = max(clicks, round(clicks / ctr))
                frequency = 1.4 + 1.8 * wear + rng.uniform(0, 0.3)
                reach = max(1, round(impressions / frequency))
                spend = Decimal(str(round(clicks * cpc, 2)))
                lines.append([day, campaign.code, creative.ad_group, creative.name, spend, impressions, clicks, reach])
    return lines


def oa_user_summary_rows(*, window: Window, stats: Stats) -> list[list[Any]]:
    """Per day: one row per WeChat user_source, and an `all` row with the cumulative count."""
    lines: list[list[Any]] = [["app_id", "date", "user_source", "new_users", "cancelled_users", "cumulative_users"]]
    cumulative = 20_000
    for d in range(window.days):
        day = window.start.date() + timedelta(days=d)
        by_source = {source: stats.follows[(day, source)] for source in ("1", "30", "100")}
        new, cancelled = sum(by_source.values()), stats.unfollows[day]
        cumulative += new - cancelled
        for source, count in by_source.items():
            lines.append([OA_APPID, day, source, count, 0, ""])
        lines.append([OA_APPID, day, "all", new, cancelled, cumulative])
    return lines


def article_stats_rows(*, window: Window, stats: Stats) -> list[list[Any]]:
    lines: list[list[Any]] = [
        [
            *("app_id", "date", "msgid", "title", "published_on"),
            *("reads", "read_users", "completion_rate", "shares", "favourites"),
        ]
    ]
    for (day, msgid), counts in sorted(stats.article.items()):
        published = date.fromordinal(int(msgid.split("_")[0]) - 2650000000)
        title = ARTICLE_TITLES[published.toordinal() % len(ARTICLE_TITLES)]
        opens = counts["opens"]
        # The platform counts readers we never see as events (no openid): about 1.4× ours.
        reads = round(opens * 1.4)
        rate = f"{counts['completes'] / opens:.4f}" if opens else ""
        lines.append(
            [
                *(OA_APPID, day, msgid, title, published),
                *(reads, round(reads * 0.86), rate, counts["shares"], counts["favourites"]),
            ]
        )
    return lines


def page_stats_rows(*, window: Window, stats: Stats) -> list[list[Any]]:
    lines: list[list[Any]] = [["app_id", "date", "page_path", "visits", "visitors"]]
    for (day, path), counts in sorted(stats.pages.items()):
        visits = counts["visits"]
        lines.append([MP_APPID, day, path, visits, max(1, round(visits * 0.8))])
    return lines
