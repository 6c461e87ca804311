"""Small server-side SVG charts (no JavaScript, nothing loaded from outside; labels are escaped)."""

from __future__ import annotations

from markupsafe import Markup, escape

PALETTE = ["#c0392b", "#2471a3", "#d68910", "#229954", "#7d3c98", "#17a589", "#839192", "#a04000", "#1f618d"]


def stacked_bars(days: list[str], series: dict[str, list[int]], title: str, width: int = 640) -> Markup:
    """Stacked bars per day, one colour per series, with a legend."""
    height, left, bottom, top = 220, 36, 40, 24
    totals = [sum(v[i] for v in series.values()) for i in range(len(days))]
    peak = max(totals, default=0) or 1
    plot_h = height - bottom - top
    step = (width - left - 10) / max(len(days), 1)
    bar_w = max(step * 0.7, 2)
    parts = [_header(width, height + 20 * ((len(series) + 3) // 4), title)]
    parts.append(_axis(left, top, plot_h, peak))
    for i, day in enumerate(days):
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h
        for j, (name, values) in enumerate(series.items()):
            h = values[i] / peak * plot_h
            if h <= 0:
                continue
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(day)} {escape(name)}: {values[i]}</title></rect>'
            )
        if len(days) <= 16 or i % max(len(days) // 8, 1) == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" font-size="10" '
                f'text-anchor="middle">{escape(day[5:])}</text>'
            )
    parts.append(_legend(list(series), left, height - 8))
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(items: list[tuple[str, float]], title: str, fmt: str = "{:.0f}", width: int = 640) -> Markup:
    """Horizontal bars, one per labelled value."""
    row, left = 22, 140
    height = 30 + row * max(len(items), 1)
    peak = max((v for _, v in items), default=0) or 1
    parts = [_header(width, height, title)]
    for i, (label, value) in enumerate(items):
        y = 26 + i * row
        w = value / peak * (width - left - 60)
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" font-size="12" text-anchor="end">{escape(label[:18])}</text>'
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{row - 6}" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + 13}" font-size="12">{escape(fmt.format(value))}</text>'
        )
    if not items:
        parts.append(f'<text x="{left}" y="40" font-size="12">暂无数据</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line(days: list[str], values: list[float | None], title: str, width: int = 640) -> Markup:
    """A 0–100 % line (confirmation rate per day); days without decisions leave a gap."""
    height, left, bottom, top = 200, 36, 30, 24
    plot_h = height - bottom - top
    step = (width - left - 10) / max(len(days) - 1, 1)
    parts = [_header(width, height, title), _axis(left, top, plot_h, 100, suffix="%")]
    points = []
    for i, v in enumerate(values):
        if v is None:
            continue
        x, y = left + i * step, top + plot_h - v * plot_h
        points.append(f"{x:.1f},{y:.1f}")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#2471a3">'
            f"<title>{escape(days[i])}: {v:.0%}</title></circle>"
        )
    if len(points) > 1:
        parts.append(f'<polyline fill="none" stroke="#2471a3" stroke-width="2" points="{" ".join(points)}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _header(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f'<text x="4" y="14" font-size="13" font-weight="bold">{escape(title)}</text>'
    )


def _axis(left: int, top: int, plot_h: float, peak: float, suffix: str = "") -> str:
    out = [f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#999"/>']
    for frac in (0, 0.5, 1):
        y = top + plot_h - frac * plot_h
        label = f"{peak * frac:.0f}{suffix}"
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{label}</text>')
    return "".join(out)


def _legend(names: list[str], left: int, y: int) -> str:
    out = []
    for j, name in enumerate(names):
        x = left + (j % 4) * 150
        yy = y + (j // 4) * 18
        out.append(
            f'<rect x="{x}" y="{yy - 9}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text x="{x + 14}" y="{yy}" font-size="11">{escape(name[:18])}</text>'
        )
    return "".join(out)
