"""Server-rendered SVG charts: no JavaScript, no build step, accessible.

Each chart carries a <title> and <desc> and is paired with a data table
by the templates that use it, for people who would rather read than look.
"""

from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

PALETTE = ["#0b3d6e", "#a4141c", "#1e6b34", "#8a4b00", "#5a4a78"]


def line_chart(title, labels, series, width=640, height=220, y_label=""):
    """``series``: [(name, [values...])], one value per label."""
    pad_l, pad_r, pad_t, pad_b = 44, 12, 16, 36
    values = [v for _, vs in series for v in vs] or [0]
    top = max(values) or 1
    n = max(1, len(labels) - 1)
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b

    def xy(i, v):
        return pad_l + plot_w * i / n, pad_t + plot_h * (1 - v / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-t chart-d" class="chart" width="100%">',
        f'<title id="chart-t">{escape(title)}</title>',
        f'<desc id="chart-d">{escape(", ".join(name for name, _ in series))} over {len(labels)} points; '
        f'maximum {top}.</desc>',
        f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{width - pad_r}" y2="{pad_t + plot_h}" stroke="#4a525a"/>',
        f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{pad_t + plot_h}" stroke="#4a525a"/>',
        f'<text x="4" y="{pad_t + 10}" font-size="11" fill="#1b1f23">{escape(str(top))}</text>',
        f'<text x="4" y="{pad_t + plot_h}" font-size="11" fill="#1b1f23">0</text>',
    ]
    if y_label:
        parts.append(f'<text x="4" y="{height - 4}" font-size="11" fill="#4a525a">{escape(y_label)}</text>')
    step = max(1, len(labels) // 6)
    for i in range(0, len(labels), step):
        x, _ = xy(i, 0)
        parts.append(f'<text x="{x:.1f}" y="{height - 18}" font-size="11" text-anchor="middle" fill="#1b1f23">'
                     f'{escape(str(labels[i]))}</text>')
    for k, (name, vs) in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(vs)))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        lx = pad_l + 8 + k * 170
        parts.append(f'<rect x="{lx}" y="{height - 12}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{lx + 14}" y="{height - 3}" font-size="11" fill="#1b1f23">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated label is escaped above


def bar(value, maximum, width=120):
    """A small inline progress bar."""
    share = 0 if not maximum else max(0.0, min(1.0, value / maximum))
    return format_html(
        '<svg width="{}" height="10" role="img" aria-label="{} of {}"><rect width="{}" height="10" fill="#d0d7de"/>'
        '<rect width="{}" height="10" fill="#0b3d6e"/></svg>',
        width, value, maximum, width, round(width * share),
    )
