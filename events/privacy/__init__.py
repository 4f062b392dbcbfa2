"""Personal-data rights (PIPL) and retention, docs/privacy.md.

- `lookup`: every id of one person, from any one of them;
- `export`: one JSON document of everything that mentions them (streamed);
- `erase`: delete it all in one transaction, keep a record with hashed ids; the erased
  events' dedupe keys stay, marked erased, so a client's retry remains a duplicate;
- `retention`: pseudonymise events older than the retention period;
- `unfollow`: erase Official Account followers some days after they unfollow (opt-in per account).
"""

# Who may serve these rights (given to analysts in wxanalytics/roles.py).
EXPORT_PERMISSION = "events.export_person"
ERASE_PERMISSION = "events.erase_person"
