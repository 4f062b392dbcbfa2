"""RejectedRow.fingerprint: the same bad row received again is kept once.

Existing rows get their fingerprint (the sha256 `RejectedRow.fingerprint_of` computes) and
copies that arrived before this change are deleted, keeping one per fingerprint: a row an
analyst already replayed or dismissed wins over an open copy (its work is kept), then the
oldest. Then the column becomes unique."""

import hashlib

from django.db import migrations, models

CHUNK = 2000


def fingerprint_of(channel: str, source: str, ingest_key_id, raw: str) -> str:
    # A copy of RejectedRow.fingerprint_of: migrations must not import the live model.
    material = "\x1f".join((channel, source or "", str(ingest_key_id or ""), raw))
    return hashlib.sha256(material.encode("utf-8", "backslashreplace")).hexdigest()


# PostgreSQL: the same sha256 in SQL (stored text is always valid UTF-8), the copies found
# with one window over the table, no row through Python.
FINGERPRINT_SQL = (
    "encode(sha256(convert_to(channel || chr(31) || source || chr(31) || "
    "COALESCE(ingest_key_id::text, '') || chr(31) || raw, 'UTF8')), 'hex')"
)
FILL_SQL = f"UPDATE events_rejectedrow SET fingerprint = {FINGERPRINT_SQL}"
DELETE_COPIES_SQL = (
    "DELETE FROM events_rejectedrow WHERE id IN ("
    " SELECT id FROM (SELECT id, row_number() OVER ("
    "  PARTITION BY fingerprint ORDER BY (status = 'open'), id) AS copy FROM events_rejectedrow) AS numbered"
    " WHERE copy > 1)"
)


def fill_and_dedupe(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FILL_SQL)
        schema_editor.execute(DELETE_COPIES_SQL)
        return
    RejectedRow = apps.get_model("events", "RejectedRow")
    keeper: dict[str, tuple[bool, int]] = {}  # fingerprint -> (still open, id) of the row kept
    doomed: list[int] = []
    rows = RejectedRow.objects.order_by("pk").values_list("pk", "channel", "source", "ingest_key_id", "raw", "status")
    for pk, channel, source, key_id, raw, status in rows.iterator(chunk_size=CHUNK):
        fingerprint = fingerprint_of(channel, source, key_id, raw)
        candidate = (status == "open", pk)
        kept = keeper.get(fingerprint)
        if kept is None:
            keeper[fingerprint] = candidate
        elif candidate < kept:  # a handled row beats an open one; among equals the oldest
            doomed.append(kept[1])
            keeper[fingerprint] = candidate
        else:
            doomed.append(pk)
    for start in range(0, len(doomed), CHUNK):
        RejectedRow.objects.filter(pk__in=doomed[start : start + CHUNK]).delete()
    by_pk = sorted((pk, fingerprint) for fingerprint, (_, pk) in keeper.items())
    for start in range(0, len(by_pk), CHUNK):
        chunk = [RejectedRow(pk=pk, fingerprint=fingerprint) for pk, fingerprint in by_pk[start : start + CHUNK]]
        RejectedRow.objects.bulk_update(chunk, ["fingerprint"])


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0013_ingest_key_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="rejectedrow",
            name="fingerprint",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(fill_and_dedupe, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="rejectedrow",
            name="fingerprint",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True, unique=True),
        ),
    ]
