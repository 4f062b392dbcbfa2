"""Report snapshots: one immutable record per closed day, ISO week and month.

periods.py cuts periods; daily.py / weekly.py / monthly.py assemble sections from the
metric functions in reports.metrics; build.py stores them atomically and tracks staleness.
"""
