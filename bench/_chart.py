"""The load test's run as an SVG chart (bench/load.py): latency per second
against the goal, requests per second, published edits, CPU by component."""

import math
import os

GOAL_P95_MS = 200


def timeline_svg(results, width=760):
    """The run's timeline as an SVG chart: latency per second (p50, p95,
    slowest; logarithmic, with the p95 goal as a dashed line) over requests
    answered per second, with a tick for each published edit."""
    rows = results["timeline"]
    left, right, top, lat_h, gap, req_h = 52, 12, 50, 210, 30, 70
    cpu_h = 90 if any("cpu_s" in r for r in rows) else 0
    plot_w = width - left - right
    height = top + lat_h + gap + req_h + 44 + (cpu_h + 52 if cpu_h else 0)
    span = max(len(rows), 1)
    low, high = 0.0, math.log10(5000)  # 1 ms to 5 s

    def x(second):
        return left + plot_w * second / span

    def y_ms(ms):
        v = min(max(math.log10(max(ms, 1)), low), high)
        return top + lat_h * (1 - (v - low) / (high - low))

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="11"><rect width="100%" height="100%" fill="white"/>',
           f'<text x="{left}" y="16" font-size="13">{results["searches_per_s"]} searches/s of '
           f'{results["offered_searches_per_s"]} offered; search p95 {results["search"].get("p95_ms")} ms; '
           f'{results["errors"]} errors</text>']
    for ms in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000):
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y_ms(ms):.1f}" y2="{y_ms(ms):.1f}" stroke="#e4e4e4"/>'
                   f'<text x="{left - 6}" y="{y_ms(ms) + 4:.1f}" text-anchor="end">{ms}</text>')
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{y_ms(GOAL_P95_MS):.1f}" y2="{y_ms(GOAL_P95_MS):.1f}" '
               f'stroke="#c0392b" stroke-dasharray="5 4"/>')
    for key, colour, stroke in (("max_ms", "#b0b0b0", 1), ("p95_ms", "#e67e22", 2), ("p50_ms", "#2c6fbb", 2)):
        points = " ".join(f"{x(r['second'] + 0.5):.1f},{y_ms(r[key]):.1f}" for r in rows if r["requests"])
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="{stroke}"/>')
    legend = (("p50", "#2c6fbb"), ("p95", "#e67e22"), ("slowest", "#b0b0b0"), (f"goal p95 {GOAL_P95_MS} ms", "#c0392b"))
    for i, (label, colour) in enumerate(legend):
        lx = left + 10 + i * 110
        out.append(f'<line x1="{lx}" x2="{lx + 18}" y1="{top - 16}" y2="{top - 16}" stroke="{colour}" stroke-width="2"/>'
                   f'<text x="{lx + 22}" y="{top - 12}">{label}</text>')
    out.append(f'<text x="12" y="{top + lat_h / 2}" transform="rotate(-90 12 {top + lat_h / 2})" '
               f'text-anchor="middle">latency (ms, log)</text>')
    base = top + lat_h + gap + req_h
    most = max([r["requests"] for r in rows] + [1])
    for r in rows:
        bar = req_h * r["requests"] / most
        out.append(f'<rect x="{x(r["second"]) + 1:.1f}" y="{base - bar:.1f}" width="{max(plot_w / span - 2, 1):.1f}" '
                   f'height="{bar:.1f}" fill="#9bbbd9"/>')
    for t in results.get("edits_at_s", []):
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{base + 2}" y2="{base + 10}" stroke="#333" stroke-width="1.5"/>')
    out.append(f'<text x="{left - 6}" y="{base - req_h + 10}" text-anchor="end">{most}</text>'
               f'<text x="{left - 6}" y="{base}" text-anchor="end">0</text>'
               f'<text x="{left}" y="{base - req_h - 6}">requests per second (ticks below: edits published)</text>'
               f'<text x="{left + plot_w / 2}" y="{base + 38}" text-anchor="middle">seconds into the run</text>')
    for second in range(0, span + 1, 10):
        out.append(f'<text x="{x(second):.1f}" y="{base + 24}" text-anchor="middle">{second}</text>')
    if cpu_h:  # CPU per second by component, stacked, against the machine's cores
        cores = os.cpu_count() or 1
        cpu_base = base + 44 + cpu_h + 26
        out.append(f'<text x="{left}" y="{cpu_base - cpu_h - 8}">CPU per second by component '
                   f'(of {cores} cores; grey: stolen by the hypervisor)</text>')
        parts = (("web server", "#2c6fbb"), ("celery worker", "#8e44ad"), ("postgresql", "#27ae60"),
                 ("redis", "#c0392b"), ("load generator", "#f39c12"), ("steal", "#999999"))
        for r in rows:
            y = cpu_base
            for name, colour in parts:
                used = max(r.get("cpu_s", {}).get(name, 0.0), 0.0)
                bar = cpu_h * min(used, cores) / cores
                if bar > 0:
                    y -= bar
                    out.append(f'<rect x="{x(r["second"]) + 1:.1f}" y="{y:.1f}" '
                               f'width="{max(plot_w / span - 2, 1):.1f}" height="{bar:.1f}" fill="{colour}"/>')
        out.append(f'<text x="{left - 6}" y="{cpu_base - cpu_h + 10}" text-anchor="end">{cores}</text>'
                   f'<text x="{left - 6}" y="{cpu_base}" text-anchor="end">0</text>')
        for i, (name, colour) in enumerate(parts):
            lx = left + 10 + i * 115
            out.append(f'<rect x="{lx}" y="{cpu_base + 8}" width="10" height="10" fill="{colour}"/>'
                       f'<text x="{lx + 14}" y="{cpu_base + 17}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out)
