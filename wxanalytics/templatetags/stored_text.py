from django import template

from wxanalytics.localize import localize_text

register = template.Library()


@register.filter
def localized(text):
    """{{ stored_english_text|localized }}: see wxanalytics.localize."""
    return localize_text(text)
