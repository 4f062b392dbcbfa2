from django import template

from wxanalytics.people import person_name as _person_name

register = template.Library()


@register.filter
def person_name(user) -> str:
    """{{ user|person_name }}: see wxanalytics.people.person_name."""
    return _person_name(user)
