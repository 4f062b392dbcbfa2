"""The campaign page in admin (thin: authorize, read, render): this week and this month per
placement with spend, ROAS and QR codes (reports.results.campaign_page), then any date range."""

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from campaigns.admin.placements import qr_download_links
from campaigns.models import Campaign
from reports.metrics.placements import placement_report
from reports.results.campaign_page import campaign_page
from reports.results.periods import RangeError, results_period
from reports.snapshots.placements_section import placement_columns, placement_rows
from reports.snapshots.sections import Section
from wxanalytics.replica import reading_reports


@staff_member_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_placements(request, pk: int):
    with reading_reports():  # live metric queries: the reports replica when there is one
        return _campaign_page(request, pk)


def _campaign_page(request, pk: int):
    campaign = get_object_or_404(Campaign, pk=pk)
    error, section = None, None
    try:
        period = results_period(campaign, request.GET.get("from"), request.GET.get("to"))
    except RangeError as exc:
        error = str(exc)
    else:
        table = Section(
            "placements",
            _("Placements of %(campaign)s, %(period)s (China time)")
            % {"campaign": campaign.code, "period": period.label},
            placement_columns(),
            note=_(
                "Scans = short-link hits plus WeChat code scans (Official Account codes and Mini Program launches from "
                "the code), one per person and placement within 30 minutes. Follows, orders, revenue and refunds go to "
                "the person's latest placement touch (of any campaign) at or before them, within 30 days. The last two "
                "rows are the whole shop over these days, not only this campaign."
            ),
        )
        for row in placement_rows(placement_report(period, campaign_id=campaign.pk)):
            table.add(*row)
        section = table.as_dict()
    page = campaign_page(campaign)
    context = {
        **admin.site.each_context(request),
        "title": _("Campaign %(campaign)s: placements, spend and QR codes") % {"campaign": campaign.code},
        "campaign": campaign,
        "page": page,
        "lines": [(line, qr_download_links(line.placement)) for line in page.lines],
        "page_money": [(_("This week"), page.week_money), (_("This month"), page.month_money)],
        "no_spend": page.week_money.spend is None or page.month_money.spend is None,
        "section": section,
        "error": error,
        "first": request.GET.get("from", ""),
        "last": request.GET.get("to", ""),
    }
    return render(request, "reports/results/campaign_placements.html", context)
