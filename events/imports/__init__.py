"""Imports of platform statistics (SPEC E5): ad spend, Official Account user summary and
article stats, Mini Program page stats. One spec per kind (specs.py), one service that
streams a CSV file into its table (services.py); admin, command and API call the service."""

from .csvstream import ImportFormatError
from .services import (
    CHANNEL_PREFIX,
    ImportSummary,
    RejectedLine,
    UnknownImportKind,
    get_spec,
    import_csv,
    replay_rejected_import,
)
from .specs import SPECS

KINDS = tuple(SPECS)

__all__ = [
    "CHANNEL_PREFIX",
    "KINDS",
    "SPECS",
    "ImportFormatError",
    "ImportSummary",
    "RejectedLine",
    "UnknownImportKind",
    "get_spec",
    "import_csv",
    "replay_rejected_import",
]
