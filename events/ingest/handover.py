"""The short link's signed hand-over, checked at ingest (docs/ingest.md "Short link → H5 hand-over").

An H5 event that arrives with `properties.handover` as an object (the five `wxa_*` parameters
`/r/<code>` appended, forwarded by the snippet) says "I come from this scan". The signature
decides whether we believe it:

- it holds: the event gets the hand-over's placement and campaign (whatever the row itself
  claimed), and `properties.handover_status = "verified"`;
- it does not (forged, expired, malformed): the event is stored — nothing is lost — but with no
  placement and no campaign, and `properties.handover_status` says why ("forged", "expired",
  "malformed") with the reason in `properties.handover_error`. The claim stays readable in
  `properties.handover` as sent.

Any other `handover` (the Mini Program's unsigned `"mini_program"`, or none) is left alone.

The check runs after the row's content hash is taken: the verdict depends on the time it is
made, and a retry of the same event after the expiry must still be a duplicate of the stored
one, not a conflict. Both write paths (COPY and the portable one) then store the row as this
step left it.
"""

from events.handover import InvalidHandover, verify_handover

from .validate import CleanRow, properties_json

VERIFIED = "verified"


def apply_handover(row: CleanRow, *, now: float) -> None:
    """Attribute `row` by its signed hand-over, or strip the attribution it claims with one."""
    claimed = row.properties.get("handover")
    if not isinstance(claimed, dict):
        return
    properties = {key: value for key, value in row.properties.items() if key != "handover_error"}
    try:
        handover = verify_handover(claimed, now=now)
    except InvalidHandover as exc:
        row.scene = ""
        row.campaign_code = ""
        # Validation copies placement_scene into properties.scene, which attribution reads
        # when an event has no placement: the failed claim must not come back that way.
        properties.pop("scene", None)
        properties["handover_status"] = exc.status
        properties["handover_error"] = str(exc)
    else:
        row.scene = handover.placement
        row.campaign_code = handover.campaign
        properties["scene"] = handover.placement
        properties["handover_status"] = VERIFIED
    row.properties = properties
    # The row passed validation; the size limit bounds what clients send, not these few words of ours.
    row.properties_json, _ = properties_json(properties)
