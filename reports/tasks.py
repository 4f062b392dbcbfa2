"""Where Celery finds the reports tasks: autodiscovery imports `<app>.tasks` only, and each
package of reports keeps its tasks next to the services they call. The tasks keep the
names they were registered under (`reports.tasks.…`, `reports.review.tasks.…`): beat rows,
routes and queued messages name them so."""

from reports.export import tasks as export_tasks  # noqa: F401
from reports.review import tasks as review_tasks  # noqa: F401
from reports.snapshots import tasks as snapshot_tasks  # noqa: F401
