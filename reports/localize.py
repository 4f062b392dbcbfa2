"""Snapshot sections in the reader's language (the text rule is wxanalytics.localize)."""

from wxanalytics.localize import localize_text


def localize_section(section: dict) -> dict:
    """A copy of a stored section with its title, columns, note and label cells translated
    (numbers untouched)."""
    return {
        **section,
        "title": localize_text(section.get("title", "")),
        "columns": [localize_text(c) for c in section.get("columns", [])],
        "note": localize_text(section.get("note", "")),
        "rows": [[localize_text(v) for v in row] for row in section.get("rows", [])],
    }
