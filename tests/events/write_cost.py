"""What one small batch's write costs in statements, per database, for the query-count guards."""

from django.db import connection

PERSON_AND_FIRST_TOUCH = 6


def write_statements(*, campaign: bool = False, placement: bool = False) -> int:
    """One on PostgreSQL, where the look-ups are joins in the INSERT (events.ingest.write).
    The portable write (SQLite) reads the keys already stored, then one read per look-up the
    batch needs (campaign codes, placement scenes) and the source aliases, then inserts: a
    fixed number per batch, never one per row. Then the person and the first touches of the
    batch's people (events.people): the identity look-up and the first-touch refresh, six
    statements whatever the batch's size."""
    if connection.vendor == "postgresql":
        return 1
    return 3 + campaign + placement + PERSON_AND_FIRST_TOUCH
