from django import template

from wxanalytics.localize import localize_error, localize_text

register = template.Library()


@register.filter
def localized(text):
    """{{ stored_english_text|localized }}: see wxanalytics.localize."""
    return localize_text(text)


@register.filter
def localized_error(text):
    """{{ stored_ingest_or_import_error|localized_error }}: names in it stay as sent."""
    return localize_error(text)
