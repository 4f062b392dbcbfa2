"""A campaign's placements over any date range: the admin page linked from the campaign and
`GET /api/v1/campaigns/<id>/placements` (both call reports.metrics.placements)."""
