"""Large imports in the background: the upload is stored, a task imports it with
`import_csv`, and the run row records progress (bytes read) and the summary.

A run is safe to repeat: importing a file again replaces its rows and never doubles them,
so a worker that died mid-import is simply run again (the task acknowledges late)."""

import logging
import time
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from events.models import ImportRun

from .csvstream import ImportFormatError
from .services import get_spec, import_csv

logger = logging.getLogger(__name__)

# Uploads larger than this are imported by a worker, with a progress bar; smaller ones in the
# request (a 1 MB CSV of ad spend is ~15,000 rows, imported in about a second).
BACKGROUND_IMPORT_BYTES = 1024 * 1024
# Progress is written at most this often: a row UPDATE per 64 KB block would slow a large import.
PROGRESS_EVERY_SECONDS = 0.5


def import_run_create(*, kind: str, upload: UploadedFile, defaults: dict[str, Any], user=None) -> ImportRun:
    """Store the upload as a queued run; `events.tasks.import_in_background` also queues it."""
    get_spec(kind)  # an unknown kind fails here, not in the worker
    with transaction.atomic():
        run = ImportRun(
            kind=kind,
            file_name=upload.name or "upload",
            defaults={name: str(value) for name, value in defaults.items() if value not in (None, "")},
            bytes_total=upload.size or 0,
            created_by=user,
        )
        run.file.save(upload.name or "upload", upload, save=False)
        run.save()
    return run


def import_run_execute(run_id: int) -> ImportRun | None:
    """Claim the run, import its file with progress, record the summary or the error.

    Steps: 1. claim by a conditional UPDATE (queued, or running after a worker died);
    2. import_csv, writing bytes read at most every PROGRESS_EVERY_SECONDS;
    3. record done + summary, or failed + the readable error; 4. delete the stored file."""
    claimed = ImportRun.objects.filter(
        pk=run_id, status__in=[ImportRun.Status.QUEUED, ImportRun.Status.RUNNING]
    ).update(status=ImportRun.Status.RUNNING, started_at=timezone.now(), bytes_done=0)
    run = ImportRun.objects.filter(pk=run_id).first()
    if run is None or not claimed:
        logger.info("import run %s is gone or finished; nothing to do", run_id)
        return run

    last_write = 0.0

    def progress(done: int) -> None:
        nonlocal last_write
        now = time.monotonic()
        if now - last_write >= PROGRESS_EVERY_SECONDS:
            last_write = now
            ImportRun.objects.filter(pk=run_id).update(bytes_done=done)

    try:
        with run.file.open("rb") as stored:
            summary = import_csv(run.kind, stored, defaults=run.defaults, progress=progress)
    except ImportFormatError as exc:
        run.status, run.error = ImportRun.Status.FAILED, str(exc)
    else:
        run.status, run.summary, run.bytes_done = ImportRun.Status.DONE, summary.as_dict(), run.bytes_total
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "summary", "bytes_done", "finished_at"])
    run.file.delete(save=True)
    return run
