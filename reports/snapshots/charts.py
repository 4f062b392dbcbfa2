"""Server-side SVG charts: line, bar and funnel. They render offline (no JavaScript, no
CDN), in admin, on the dashboard, in email-less previews and in headless browsers alike.
Every label is escaped; the result is marked safe only after that."""

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from reports.snapshots.sections import as_number

PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2")
FONT = "font-family:system-ui,sans-serif;font-size:11px"


def _fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(width: int, height: int, body: list[str], title: str, kind: str) -> SafeString:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px" data-chart="{kind}">'
        f"<title>{escape(title)}</title>"
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 (every text part above is escaped)


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str = "",
    width: int = 640,
    height: int = 220,
) -> SafeString:
    """One line per series over shared x labels; gaps (None) break the line."""
    left, right, top, bottom = 48, 12, 24, 36
    values = [v for _, ys in series for v in ys if v is not None]
    low, high = min([0.0, *values]), max([1.0, *values]) if values else 1.0
    span = (high - low) or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(x_labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - (v - low) / span * plot_h

    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>']
    for frac in (0, 0.5, 1):
        gy = top + plot_h * (1 - frac)
        body.append(f'<line x1="{left}" y1="{gy:.1f}" x2="{width - right}" y2="{gy:.1f}" stroke="#e5e7eb"/>')
        body.append(
            f'<text x="{left - 6}" y="{gy + 4:.1f}" text-anchor="end" style="{FONT}" fill="#6b7280">'
            f"{_fmt(low + span * frac)}</text>"
        )
    step = max(1, n // 8)
    for i, label in enumerate(x_labels):
        if i % step == 0 or i == n - 1:
            anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
            body.append(
                f'<text x="{x(i):.1f}" y="{height - 14}" text-anchor="{anchor}" style="{FONT}" fill="#6b7280">'
                f"{escape(label)}</text>"
            )
    for s, (name, ys) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        segments, current = [], []
        for i, v in enumerate(ys):
            if v is None:
                if current:
                    segments.append(current)
                current = []
            else:
                current.append(f"{x(i):.1f},{y(v):.1f}")
        if current:
            segments.append(current)
        for points in segments:
            if len(points) == 1:
                cx, cy = points[0].split(",")
                body.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
            else:
                body.append(
                    f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>'
                )
        body.append(
            f'<rect x="{left + s * 150}" y="6" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + s * 150 + 14}" y="15" style="{FONT}" fill="#111827">{escape(name)}</text>'
        )
    return _svg(width, height, body, title, "line")


def bar_chart(
    labels: Sequence[str], values: Sequence[float | None], *, title: str = "", width: int = 640, bar_height: int = 22
) -> SafeString:
    """Horizontal bars, one per label, with the value written at the end of the bar."""
    label_w, pad = 210, 6
    height = max(1, len(labels)) * (bar_height + pad) + pad
    numbers = [v or 0.0 for v in values]
    top = max([abs(v) for v in numbers] + [1e-9])
    plot_w = width - label_w - 70
    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>']
    for i, (label, v) in enumerate(zip(labels, numbers, strict=False)):
        y = pad + i * (bar_height + pad)
        w = max(1.0, abs(v) / top * plot_w) if v else 0
        colour = PALETTE[0] if v >= 0 else PALETTE[2]
        text = escape(_short(str(label), 30))
        body.append(
            f'<text x="{label_w - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" style="{FONT}" fill="#111827">'
            f"{text}</text>"
            f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" rx="3" fill="{colour}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar_height * 0.7:.1f}" style="{FONT}" fill="#374151">'
            f"{_fmt(v)}</text>"
        )
    return _svg(width, height, body, title, "bar")


def funnel_chart(steps: Sequence[tuple[str, float | None]], *, title: str = "", width: int = 640) -> SafeString:
    """Centred bars narrowing step by step; each shows its count and the rate from the
    previous step. The step with the worst step-to-step rate is drawn in red."""
    row_h, pad = 34, 6
    counts = [v or 0.0 for _, v in steps]
    height = max(1, len(steps)) * (row_h + pad) + pad
    top = max([*counts, 1e-9])
    rates = [None] + [(counts[i] / counts[i - 1]) if counts[i - 1] else None for i in range(1, len(counts))]
    known = [(r, i) for i, r in enumerate(rates) if r is not None]
    worst = min(known)[1] if known else None
    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>']
    centre, max_w = width * 0.32, width * 0.56
    for i, ((label, _), count) in enumerate(zip(steps, counts, strict=False)):
        w = max(2.0, count / top * max_w)
        y = pad + i * (row_h + pad)
        colour = PALETTE[2] if i == worst else PALETTE[0]
        rate = f" · {rates[i]:.1%} of previous" if rates[i] is not None else ""
        body.append(
            f'<rect class="step" x="{centre - w / 2:.1f}" y="{y}" width="{w:.1f}" height="{row_h}" rx="4" fill="{colour}"/>'
            f'<text x="{centre:.1f}" y="{y + row_h * 0.65:.1f}" text-anchor="middle" style="{FONT};font-weight:600" '
            f'fill="#fff">{_fmt(count)}</text>'
            f'<text x="{centre + max_w / 2 + 10:.1f}" y="{y + row_h * 0.65:.1f}" style="{FONT}" fill="#111827">'
            f"{escape(str(label))}{escape(rate)}</text>"
        )
    return _svg(width, height, body, title, "funnel")


def section_chart(section: dict) -> SafeString | None:
    """The chart a snapshot section asks for (`section["chart"]`), or None."""
    hint = section.get("chart") or {}
    rows = section.get("rows") or []
    if not hint or not rows:
        return None
    x_col, y_cols = hint.get("x", 0), hint.get("y", [1])
    columns = section.get("columns", [])
    labels = [str(row[x_col]) for row in rows]
    title = section.get("title", "")
    if hint.get("type") == "line":
        series = [(columns[c], [as_number(row[c]) for row in rows]) for c in y_cols]
        return line_chart(labels, series, title=title)
    if hint.get("type") == "funnel":
        return funnel_chart(
            [(label, as_number(row[y_cols[0]])) for label, row in zip(labels, rows, strict=False)], title=title
        )
    return bar_chart(labels, [as_number(row[y_cols[0]]) for row in rows], title=title)
