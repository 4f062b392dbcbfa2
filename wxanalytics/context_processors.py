from django.utils.translation import get_language

from wxanalytics.formats import zone_name


def time_zone(request) -> dict:
    """{{ time_zone_name }}: the reporting zone in the page's language, for pages that show
    dates without times (times carry it already, wxanalytics.formats)."""
    return {"time_zone_name": zone_name(get_language() or "")}
