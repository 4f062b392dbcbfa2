"""What a client key may write (issue 13, docs/ingest.md "Client and server keys").

A client key ships inside a Mini Program or web page, so anyone can send with it. It may
report what a phone sees; it may not write the facts that only servers and WeChat know:

- server-only events: `pay_success`, the refund outcomes `refund_*` (not `refund_request`,
  the user's ask, which the Mini Program sends), and every event the tracking plan marks
  `server_only`;
- server sources: `wechat_pay`, `official_account`, `short_link`, `import…`, also when
  spelled through a source alias that maps to one.

Each refused row is rejected on its own with reason `forbidden` and kept, like every
rejected row; the others in the batch are stored.

The checks run on every event of a client key, so they are set look-ups: the plan's
server-only names and the aliases of server sources are read once per process and
remembered for INGEST_KEY_CACHE_SECONDS, like the key itself.
"""

from dataclasses import dataclass

from django.db.models import Q
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_noop

from campaigns.models import EventDefinition, SourceAlias
from events.models import SERVER_SOURCE_PREFIX, SERVER_SOURCES, is_server_source
from wxanalytics.process_cache import ProcessCache

from .validate import CleanRow

REFUND_OUTCOME_PREFIX = "refund_"
# The user asking for a refund is something the Mini Program sees (tracking plan).
CLIENT_REFUND_EVENTS = frozenset({"refund_request"})
ALWAYS_SERVER_ONLY = frozenset({"pay_success"})


@dataclass(frozen=True)
class ClientPolicy:
    server_only_events: frozenset[str]
    server_source_aliases: frozenset[str]  # aliases whose canonical source is a server source


def is_server_only_event(name: str, policy: ClientPolicy) -> bool:
    return (
        name in ALWAYS_SERVER_ONLY
        or name in policy.server_only_events
        or (name.startswith(REFUND_OUTCOME_PREFIX) and name not in CLIENT_REFUND_EVENTS)
    )


def client_refusal(row: CleanRow, policy: ClientPolicy) -> dict[str, str] | None:
    """Why a client key may not write this row ({field: why}), or None if it may. In English:
    the reasons are kept with the rejected row and translated when shown (docs/i18n.md)."""
    errors = {}
    if is_server_only_event(row.event_name, policy):
        errors["event_name"] = gettext_noop(
            "%(name)s is a server-only event: send it from your server with a server key "
            "(WeChat Pay notifications record payments themselves)."
        ) % {"name": row.event_name}
    if row.source and (is_server_source(row.source) or row.source in policy.server_source_aliases):
        errors["source"] = gettext_noop(
            "%(source)s is written only by wxanalytics itself (WeChat Pay, Official Account push, "
            "short links, imports); a client key cannot claim it."
        ) % {"source": row.source}
    return errors or None


def client_policy() -> ClientPolicy:
    policy = _recent.get("policy")
    if policy is None:
        policy = ClientPolicy(
            server_only_events=frozenset(
                EventDefinition.objects.filter(server_only=True).values_list("name", flat=True)
            ),
            server_source_aliases=frozenset(
                SourceAlias.objects.filter(
                    Q(canonical__in=SERVER_SOURCES) | Q(canonical__startswith=SERVER_SOURCE_PREFIX)
                ).values_list("alias", flat=True)
            ),
        )
        _recent.put("policy", policy)
    return policy


# The plan and the aliases change a few times a year; a client key sends thousands of
# events a second. An edit applies at once in the process that saved it and within
# INGEST_KEY_CACHE_SECONDS elsewhere (the same promise as for a revoked key).
_recent: ProcessCache[ClientPolicy] = ProcessCache("INGEST_KEY_CACHE_SECONDS")
forget_policy = _recent.clear
for _model in (EventDefinition, SourceAlias):
    post_save.connect(forget_policy, sender=_model, dispatch_uid=f"forget-client-policy-{_model.__name__}")
    post_delete.connect(forget_policy, sender=_model, dispatch_uid=f"forget-client-policy-del-{_model.__name__}")
