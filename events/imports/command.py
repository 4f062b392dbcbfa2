"""The shared body of `manage.py import_<kind> FILE`: open the file, show a progress bar on
stderr while the service reads it, print the summary."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from wxanalytics.localize import localize_error

from .csvstream import ImportFormatError
from .services import get_spec, import_csv


class ImportCommand(BaseCommand):
    kind: str

    @property
    def help(self) -> str:
        spec = get_spec(self.kind)
        return _(
            "Import a CSV file into %(table)s. Re-importing replaces rows with the same (%(key)s); bad lines are "
            "reported and kept as rejected rows."
        ) % {"table": spec.model._meta.verbose_name_plural, "key": ", ".join(spec.natural_key)}

    def add_arguments(self, parser):
        parser.add_argument(
            "file",
            help=_(
                "Path to the file: CSV (UTF-8, UTF-16 or GBK; comma, tab or semicolon), a datacube JSON answer "
                "as WeChat returned it, or an .xlsx download."
            ),
        )
        file_defaults = get_spec(self.kind).file_defaults
        if "app_id" in file_defaults:
            parser.add_argument(
                "--app-id", default="", help=_("App ID for every row when the file has no app_id column.")
            )
        if "date" in file_defaults:
            parser.add_argument(
                "--date",
                default="",
                help=_("Day for every row without one (getVisitPage gives ref_date once per file)."),
            )
        parser.add_argument("--no-progress", action="store_true", help=_("Do not show the progress bar."))

    def handle(self, *args, file: str, **options):
        path = Path(file)
        try:
            size = path.stat().st_size
            handle = path.open("rb")
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(why)s.") % {"file": file, "why": exc.strerror or exc}
            ) from None
        defaults = {name: options.get(name) for name in ("app_id", "date") if options.get(name)}
        with (
            handle,
            tqdm(
                total=size,
                unit="B",
                unit_scale=True,
                desc=f"import {self.kind}",
                file=sys.stderr,
                disable=options["no_progress"],
            ) as bar,
        ):
            try:
                summary = import_csv(self.kind, handle, defaults=defaults, progress=bar.update)
            except ImportFormatError as exc:
                raise CommandError(f"{file}: {localize_error(str(exc))}") from None
        for item in summary.rejected_lines:
            reasons = "; ".join(f"{column}: {localize_error(why)}" for column, why in item.errors.items())
            self.stderr.write(_("line %(line)s: %(reasons)s") % {"line": item.line, "reasons": reasons})
        style = self.style.WARNING if summary.rejected else self.style.SUCCESS
        self.stdout.write(style(str(summary)))
