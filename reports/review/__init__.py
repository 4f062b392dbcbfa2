"""The Friday review (SPEC R5): per owner per ISO week one insight and one change, tied to a
KPI and the week's snapshot; next week the change gets a status and an outcome note.

Modules: weeks (ISO week strings), models, policy (who may do what — the one place),
services (writes, reminders), selectors (the review page), admin, api, views, tasks, demo.
"""
