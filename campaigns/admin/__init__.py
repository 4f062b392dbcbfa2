"""Admin for what people define, split by area so each stays readable."""

from campaigns.admin import define, placements, roles  # noqa: F401 (registers the admins)
