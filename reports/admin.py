"""Admin registrations of the reports app, one module per area."""

from reports.review import admin as review_admin  # noqa: F401
from reports.snapshots import admin as snapshots_admin  # noqa: F401
