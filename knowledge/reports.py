"""Freshness figures: per unit for managers, overall for the public page,
and the trend chart drawn server-side as SVG.

Current figures count only pages the viewer may see (the same token filter
as every listing), so nobody learns how many restricted pages exist. The
trend comes from the daily snapshots, which count pages by visibility class;
a viewer gets the classes they are cleared for (anonymous visitors: public
pages only; signed-in staff: public and internal; restricted pages only for
superusers and members of the restricted-audience groups).
"""

import datetime
from collections import defaultdict

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from .access import restricted_group_names
from .freshness import Freshness
from .models import FreshnessSnapshot, KnowledgePage, OrgUnit, Visibility
from .models.access import viewable_pages

REPORT_PERMISSION = "knowledge.view_freshness_report"
COLOURS = {
    Freshness.FRESH: "#2e7d32",
    Freshness.DUE_SOON: "#b26a00",
    Freshness.NEEDS_REVIEW: "#6a1b9a",
    Freshness.OVERDUE: "#c62828",
    Freshness.SUPERSEDED: "#546e7a",
    Freshness.RESCINDED: "#8d6e63",
}


def report_unit_ids(user):
    """Units whose figures ``user`` may see: all (None) with the report
    permission, else the units they manage and the units below them."""
    if user.is_superuser or user.has_perm(REPORT_PERMISSION):
        return None
    from .directory import UnitDirectory

    managed = list(OrgUnit.objects.filter(manager=user).values_list("pk", flat=True))
    if not managed:
        return set()
    directory = UnitDirectory()
    return {pk for unit in managed for pk in directory.descendants(unit)}


def can_view_report(user):
    return user.is_authenticated and user.is_active and report_unit_ids(user) != set()


def _pct(n, total):
    return round(100.0 * n / total, 1) if total else 0.0


def figures(pages):
    """{"total": n, "states": [(state, label, n, pct)]} for a page queryset."""
    counts = dict(pages.order_by().values("freshness").annotate(n=Count("pk")).values_list("freshness", "n"))
    total = sum(counts.values())
    return {
        "total": total,
        "states": [(s, Freshness.LABELS[s], counts.get(s, 0), _pct(counts.get(s, 0), total)) for s in Freshness.ORDER],
    }


def unit_rows(user, unit_ids=None):
    """One row per unit: counts and percentages per state, of the live pages
    ``user`` may view. ``unit_ids`` None means every unit (and "no unit")."""
    pages = viewable_pages(KnowledgePage.objects.live(), user)
    if unit_ids is not None:
        pages = pages.filter(unit_id__in=unit_ids)
    counts = defaultdict(dict)
    grouped = pages.order_by().values("unit_id", "freshness").annotate(n=Count("pk"))
    for unit_id, state, n in grouped.values_list("unit_id", "freshness", "n"):
        counts[unit_id][state] = n
    units = OrgUnit.objects.select_related("parent")
    if unit_ids is not None:
        units = units.filter(pk__in=unit_ids)
    names = {u.pk: str(u) for u in units}
    if unit_ids is None and None in counts:
        names[None] = "(no unit)"
    rows = []
    for unit_id, name in sorted(names.items(), key=lambda kv: kv[1]):
        by_state = counts.get(unit_id, {})
        total = sum(by_state.values())
        row = {"unit_id": unit_id, "unit": name, "total": total}
        for state in Freshness.ORDER:
            row[state] = by_state.get(state, 0)
            row[f"{state}_pct"] = _pct(row[state], total)
        attention = sum(by_state.get(s, 0) for s in Freshness.ATTENTION)
        row["attention_pct"] = _pct(attention, total)
        rows.append(row)
    return rows


def oldest_items(user, unit_ids=None, limit=10):
    """The live pages longest past (or nearest to) their review date."""
    pages = viewable_pages(KnowledgePage.objects.live(), user).filter(
        freshness__in=Freshness.ATTENTION, review_due__isnull=False
    )
    if unit_ids is not None:
        pages = pages.filter(unit_id__in=unit_ids)
    return list(pages.select_related("unit", "owner_user").order_by("review_due", "pk")[:limit])


def visibilities_for(user):
    allowed = [Visibility.PUBLIC]
    if user is not None and user.is_authenticated and user.is_active:
        allowed.append(Visibility.INTERNAL)
        if user.is_superuser or user.groups.filter(name__in=restricted_group_names()).exists():
            allowed.append(Visibility.RESTRICTED)
    return allowed


def trend(visibilities, unit_ids=None, days=180, today=None):
    """[(date, {state: n})] from the daily snapshots, oldest first."""
    today = today or timezone.localdate()
    rows = FreshnessSnapshot.objects.filter(
        date__gt=today - datetime.timedelta(days=days), visibility__in=visibilities
    )
    if unit_ids is not None:
        rows = rows.filter(unit_id__in=unit_ids)
    series = defaultdict(lambda: dict.fromkeys(Freshness.ORDER, 0))
    for date, state, n in rows.order_by().values("date", "state").annotate(n=Sum("count")).values_list("date", "state", "n"):
        series[date][state] += n
    return sorted(series.items())


def trend_svg(points, width=640, height=220, title="Pages per freshness state over time"):
    """A line per state, drawn as inline SVG (no JavaScript)."""
    left, right, top, bottom = 44, 150, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    if not points:
        return mark_safe(  # noqa: S308 - fixed markup
            '<p class="help">No daily figures yet: they are stored by the nightly freshness sweep.</p>'
        )
    peak = max(max(values.values()) for _, values in points) or 1
    span = max(1, (points[-1][0] - points[0][0]).days)

    def x(day):
        return left + plot_w * ((day - points[0][0]).days / span if len(points) > 1 else 0.5)

    def y(n):
        return top + plot_h * (1 - n / peak)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="freshness-chart" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px" aria-labelledby="fc-title">',
        f'<title id="fc-title">{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" font-size="11">0</text>',
        f'<text x="{left}" y="{height - 8}" font-size="11">{points[0][0]:%d %b %Y}</text>',
        f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" font-size="11">{points[-1][0]:%d %b %Y}</text>',
    ]
    for i, state in enumerate(Freshness.ORDER):
        coords = " ".join(f"{x(day):.1f},{y(values[state]):.1f}" for day, values in points)
        colour = COLOURS[state]
        if len(points) == 1:
            parts.append(f'<circle cx="{x(points[0][0]):.1f}" cy="{y(points[0][1][state]):.1f}" r="3" fill="{colour}"/>')
        else:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>')
        ly = top + 14 * i + 6
        parts.append(f'<rect x="{left + plot_w + 12}" y="{ly - 8}" width="10" height="10" fill="{colour}"/>')
        parts.append(
            f'<text x="{left + plot_w + 26}" y="{ly + 1}" font-size="11">'
            f'{escape(Freshness.LABELS[state])} ({points[-1][1][state]})</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers and escaped labels only


def public_figures(user):
    """Context for /freshness/: what the visitor may see, nothing more."""
    pages = viewable_pages(KnowledgePage.objects.live(), user)
    visibilities = visibilities_for(user)
    points = trend(visibilities)
    return {
        "figures": figures(pages),
        "chart": trend_svg(points, title="Pages you can see, per freshness state, over time"),
        "visibilities": [Visibility(v).label for v in visibilities],
        "signed_in": bool(user and user.is_authenticated),
    }
