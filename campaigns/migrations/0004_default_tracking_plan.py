"""The default funnel and tracking plan: every event the playbook (seed §2–§5, §9) names,
plus the source alias table used to normalise UTM source/medium values.

The data is frozen here on purpose: later edits in admin are the team's, and a migration
must not depend on code that changes."""

from django.db import migrations

STAGES = [
    (1, "Discovery", "People first meet us: QR scans, ad clicks, search exposure, profile views."),
    (2, "Engagement", "They pay attention: follows, article opens, menu clicks, session depth."),
    (3, "Conversion", "They act: lead forms, bookings, purchases, first payment."),
    (4, "Retention", "They come back: repeat sessions, repeat purchases, subscription renewal."),
]

# name, category, stage (None = not a funnel stage event), funnel position, page templates, description
EVENTS = [
    # Discovery
    ("qr_scan", "official_account", "Discovery", 1, "", "A parametric QR code or a short-link QR was scanned (scene → placement)."),
    ("ad_click", "ad", "Discovery", None, "", "A click on a Moments, Channels or Official Account ad."),
    ("search_exposure", "official_account", "Discovery", None, "", "The account or Mini Program was shown in WeChat search (搜一搜)."),
    ("profile_view", "official_account", "Discovery", None, "", "The Official Account profile page was viewed."),
    ("link_click", "ad", "Discovery", None, "", "A short link /r/<code> was opened (web traffic, with compact UTMs)."),
    # Engagement
    ("follow", "official_account", "Engagement", 2, "", "The user followed the Official Account (subscribe push; with a QR scene when scanned)."),
    ("unfollow", "official_account", "Engagement", None, "", "The user unfollowed the Official Account (unsubscribe push)."),
    ("article_open", "official_account", "Engagement", None, "", "An Official Account article was opened."),
    ("article_read_complete", "official_account", "Engagement", None, "", "An article was read to the end (read completion)."),
    ("article_share", "official_account", "Engagement", None, "", "An article was shared or forwarded to a chat or Moments."),
    ("cta_click", "official_account", "Engagement", None, "", "A call to action in an article was clicked (to a menu, the Mini Program or a form)."),
    ("menu_click", "official_account", "Engagement", None, "", "An Official Account menu button was clicked (CLICK, VIEW or view_miniprogram)."),
    ("session_start", "key_action", "Engagement", None, "", "A Mini Program session started; repeat sessions show retention."),
    ("page_view", "page_view", "Engagement", 3, "home, category, PDP, cart, checkout, order", "A Mini Program page was viewed; `page` holds the template."),
    ("share", "key_action", "Engagement", None, "", "A Mini Program page or product was shared."),
    # Conversion
    ("add_to_cart", "key_action", "Conversion", 4, "", "A product was added to the cart."),
    ("start_checkout", "key_action", "Conversion", 5, "", "Checkout was started."),
    ("select_coupon", "key_action", "Conversion", None, "", "A coupon was selected during checkout."),
    ("pay_success", "payment", "Conversion", 6, "", "A payment succeeded (WeChat Pay notification or server event); value in yuan."),
    ("first_payment", "payment", "Conversion", None, "", "The user's first ever successful payment."),
    ("lead_form_submit", "key_action", "Conversion", None, "", "A lead form was submitted (a qualified lead)."),
    ("booking", "key_action", "Conversion", None, "", "A booking or appointment was made."),
    # Retention
    ("repeat_purchase", "payment", "Retention", 7, "", "A payment by a user who had paid before."),
    ("subscription_renewal", "payment", "Retention", None, "", "A subscription or membership was renewed."),
    # Operational (not a funnel stage)
    ("refund_request", "operational", None, None, "", "The user asked for a refund."),
    ("refund_success", "payment", None, None, "", "A refund was paid out (WeChat Pay refund notification)."),
    ("return_approved", "operational", None, None, "", "A product return was approved."),
    ("ticket_created", "operational", None, None, "", "A customer service ticket was opened."),
    ("ticket_resolved", "operational", None, None, "", "A customer service ticket was resolved (resolution time = from ticket_created)."),
    # Performance signals
    ("page_load_time", "performance", None, None, "", "How long a page took to load; `value` in milliseconds."),
    ("api_error", "performance", None, None, "", "A Mini Program call to our API failed."),
    ("payment_retry", "performance", None, None, "", "The user had to retry a payment."),
]

SOURCE_ALIASES = {
    "fb": "facebook",
    "wx": "wechat",
    "weixin": "wechat",
    "we_chat": "wechat",
    "moments": "wechat_moments",
    "pyq": "wechat_moments",
    "wechat-moments": "wechat_moments",
    "gdt": "tencent_ads",
    "tencent": "tencent_ads",
    "mp": "mini_program",
    "miniprogram": "mini_program",
    "mini-program": "mini_program",
    "oa": "official_account",
    "officialaccount": "official_account",
    "wb": "weibo",
    "sina_weibo": "weibo",
    "xhs": "xiaohongshu",
    "red": "xiaohongshu",
    "dy": "douyin",
    "ig": "instagram",
    "ppc": "cpc",
    "paid": "cpc",
    "e-mail": "email",
    "mail": "email",
}


def load(apps, schema_editor):
    alias = schema_editor.connection.alias
    FunnelStage = apps.get_model("campaigns", "FunnelStage")
    EventDefinition = apps.get_model("campaigns", "EventDefinition")
    SourceAlias = apps.get_model("campaigns", "SourceAlias")
    stages = {}
    for position, name, description in STAGES:
        stages[name], _ = FunnelStage.objects.using(alias).get_or_create(
            name=name, defaults={"position": position, "description": description}
        )
    for name, category, stage, funnel_position, templates, description in EVENTS:
        EventDefinition.objects.using(alias).get_or_create(
            name=name,
            defaults={
                "category": category,
                "stage": stages[stage] if stage else None,
                "funnel_position": funnel_position,
                "page_templates": templates,
                "description": description,
            },
        )
    for source, canonical in SOURCE_ALIASES.items():
        SourceAlias.objects.using(alias).get_or_create(alias=source, defaults={"canonical": canonical})


def unload(apps, schema_editor):
    alias = schema_editor.connection.alias
    apps.get_model("campaigns", "EventDefinition").objects.using(alias).filter(name__in=[e[0] for e in EVENTS]).delete()
    apps.get_model("campaigns", "FunnelStage").objects.using(alias).filter(name__in=[s[1] for s in STAGES]).delete()
    apps.get_model("campaigns", "SourceAlias").objects.using(alias).filter(alias__in=SOURCE_ALIASES).delete()


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0003_role_groups")]

    operations = [migrations.RunPython(load, unload)]
