"""The daily snapshot."""

from reports.snapshots.periods import SnapshotPeriod


def build_data(period: SnapshotPeriod) -> dict:
    return {"kind": period.kind, "label": period.label, "title": "", "summary": [], "sections": []}
