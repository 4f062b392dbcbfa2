"""Admin for what people define, split by area so each stays readable."""

from campaigns.admin import define, placements  # noqa: F401 (registers the admins)
