from django import template

from reports.localize import localize_text

register = template.Library()


@register.filter
def localized(text):
    """{{ stored_snapshot_text|localized }}: see reports.localize."""
    return localize_text(text)
