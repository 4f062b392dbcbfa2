"""Admin for events, split by area so each stays readable."""

from . import (
    identity,  # noqa: F401  (ids of one person)
    imports,  # noqa: F401  (registers the imported tables' admin)
    ingest,  # noqa: F401  (ingest keys, events, rejected rows)
    privacy,  # noqa: F401  (erasure records, export or erase a person)
    wechat,  # noqa: F401  (WeChat Pay merchants)
)
