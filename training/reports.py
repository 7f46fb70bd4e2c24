"""HR reports: completion and overdue rates, and the skills-gap matrix.

Both aggregate in the database and return a few hundred rows at most,
whatever the number of learners: there is no loop over learners here.
The gap matrix is one SQL statement (see ``gap_report``) so that it stays
well under a second for 10,000 learners.
"""

import datetime
import time
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from knowledge.models import OrgUnit

from .models import (
    AttainedLevel,
    Competence,
    Crosswalk,
    Curriculum,
    Enrolment,
    Framework,
    JobProfile,
    JobProfileRequirement,
    ModuleCompetence,
    StaffProfile,
)


class ReportFilterError(ValueError):
    """A filter value that cannot be used; ``field`` names the parameter."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


@dataclass
class ReportFilters:
    unit: OrgUnit | None = None
    job_profile: JobProfile | None = None
    curriculum: Curriculum | None = None
    framework: Framework | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None

    def as_dict(self):
        return {
            "unit": self.unit.slug if self.unit else None,
            "job_profile": self.job_profile.slug if self.job_profile else None,
            "curriculum": self.curriculum.slug if self.curriculum else None,
            "framework": self.framework.slug if self.framework else None,
            "version": self.framework.version if self.framework else None,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
        }

    def unit_ids(self):
        return self.unit.descendant_ids() if self.unit else None


def _lookup(model, field, value, label, **extra):
    obj = model.objects.filter(**{field: value}, **extra).first()
    if obj is None:
        raise ReportFilterError(field if field != "slug" else label, f"No {label.replace('_', ' ')} {value!r}.")
    return obj


def _date(params, name):
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise ReportFilterError(name, f"{name} must be a date as YYYY-MM-DD (got {raw!r}).") from None


def parse_filters(params):
    """Read report filters from a QueryDict/dict; raise ``ReportFilterError``."""
    known = {"unit", "job_profile", "curriculum", "framework", "version", "date_from", "date_to", "format", "report"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ReportFilterError(unknown[0], f"Unknown filter {unknown[0]!r}; use {', '.join(sorted(known))}.")
    f = ReportFilters()
    if params.get("unit"):
        f.unit = _lookup(OrgUnit, "slug", params["unit"], "unit")
    if params.get("job_profile"):
        f.job_profile = _lookup(JobProfile, "slug", params["job_profile"], "job_profile")
    if params.get("curriculum"):
        f.curriculum = _lookup(Curriculum, "slug", params["curriculum"], "curriculum")
    if params.get("framework"):
        frameworks = Framework.objects.filter(slug=params["framework"])
        if params.get("version"):
            frameworks = frameworks.filter(version=params["version"])
        f.framework = frameworks.order_by("-status", "-published_on", "-pk").first()
        if f.framework is None:
            raise ReportFilterError("framework", f"No framework {params['framework']!r} {params.get('version', '')}".strip() + ".")
    else:
        f.framework = Framework.current()
    f.date_from, f.date_to = _date(params, "date_from"), _date(params, "date_to")
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise ReportFilterError("date_from", "date_from is after date_to.")
    return f


# --- completion ----------------------------------------------------------------
def _scope_q(scope, prefix="user__"):
    if scope is None:
        return Q()
    unit_ids, manager_id = scope
    return Q(**{f"{prefix}staff_profile__unit_id__in": unit_ids}) | Q(**{f"{prefix}staff_profile__manager_id": manager_id})


def _rates(row):
    total = row["total"] or 0
    row["completion_rate"] = round(100 * row["completed"] / total, 1) if total else 0.0
    row["overdue_rate"] = round(100 * row["overdue"] / total, 1) if total else 0.0
    return row


def completion_report(filters, scope=None, today=None):
    """Enrolment counts, completion and overdue rates by unit and by what was
    assigned. The date range applies to due dates."""
    today = today or timezone.localdate()
    qs = Enrolment.objects.filter(user__is_active=True).filter(_scope_q(scope))
    if filters.unit:
        qs = qs.filter(user__staff_profile__unit_id__in=filters.unit_ids())
    if filters.job_profile:
        qs = qs.filter(user__staff_profile__job_profile=filters.job_profile)
    if filters.curriculum:
        qs = qs.filter(Q(curriculum=filters.curriculum) | Q(module__curriculum=filters.curriculum))
    if filters.date_from:
        qs = qs.filter(due_date__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(due_date__lte=filters.date_to)
    counts = {
        "total": Count("pk"),
        "completed": Count("pk", filter=Q(completed_at__isnull=False)),
        "overdue": Count("pk", filter=Q(completed_at__isnull=True, due_date__lt=today)),
        "learners": Count("user_id", distinct=True),
    }
    by_unit = list(qs.values("user__staff_profile__unit_id").annotate(**counts).order_by())
    by_target = list(qs.values("curriculum_id", "module_id").annotate(**counts).order_by())
    overall = qs.aggregate(**counts)
    units = {u.pk: u for u in OrgUnit.objects.filter(pk__in=[r["user__staff_profile__unit_id"] for r in by_unit])}
    from .models import Module

    curricula = {c.pk: c for c in Curriculum.objects.filter(pk__in=[r["curriculum_id"] for r in by_target])}
    modules = {m.pk: m for m in Module.objects.filter(pk__in=[r["module_id"] for r in by_target])}
    unit_rows = sorted(
        (
            _rates({"unit": units.get(r["user__staff_profile__unit_id"]), **{k: r[k] for k in counts}})
            for r in by_unit
        ),
        key=lambda r: str(r["unit"] or "~"),
    )
    target_rows = sorted(
        (
            _rates({"target": curricula.get(r["curriculum_id"]) or modules.get(r["module_id"]),
                    "kind": "curriculum" if r["curriculum_id"] else "module", **{k: r[k] for k in counts}})
            for r in by_target
        ),
        key=lambda r: str(r["target"]),
    )
    return {"overall": _rates(dict(overall)), "by_unit": unit_rows, "by_target": target_rows}


# --- skills gap ----------------------------------------------------------------
def translation_table(framework):
    """[(source competence, source level, target competence, target level)]
    that brings requirements and records of any mapped framework onto
    ``framework``: identity rows for its own competences, then every
    crosswalk into it, then every crosswalk out of it read backwards."""
    levels = framework.level_numbers
    own = list(Competence.objects.filter(framework=framework).values_list("pk", flat=True))
    rows = {(c, lvl): (c, lvl) for c in own for lvl in levels}
    for cw in Crosswalk.objects.filter(target=framework).prefetch_related("level_mappings", "competence_mappings"):
        level_map = [(m.source_level, m.target_level) for m in cw.level_mappings.all()]
        for cm in cw.competence_mappings.all():
            for s, t in level_map:
                rows.setdefault((cm.source_competence_id, s), (cm.target_competence_id, t))
    for cw in Crosswalk.objects.filter(source=framework).prefetch_related("level_mappings", "competence_mappings"):
        pairs = [(m.source_level, m.target_level) for m in cw.level_mappings.all()]
        target_levels = cw.target.level_numbers
        for cm in cw.competence_mappings.all():
            for t in target_levels:
                reached = [tt for _, tt in pairs if tt <= t]
                if not reached:
                    continue
                best = max(reached)
                source_level = min(s for s, tt in pairs if tt == best)
                rows.setdefault((cm.target_competence_id, t), (cm.source_competence_id, source_level))
    return [(sc, sl, tc, tl) for (sc, sl), (tc, tl) in rows.items()]


@dataclass
class GapReport:
    framework: Framework | None
    competences: list = field(default_factory=list)
    units: list = field(default_factory=list)
    cells: dict = field(default_factory=dict)  # (unit_id, competence_id) -> dict
    totals: dict = field(default_factory=dict)  # competence_id -> dict
    took_ms: float = 0.0

    def cell(self, unit_id, competence_id):
        return self.cells.get((unit_id, competence_id))

    def rows(self):
        """[(unit, [cell or None per competence])] for templates."""
        return [(u, [self.cells.get((u.pk, c.pk)) for c in self.competences]) for u in self.units]

    def as_dict(self):
        return {
            "framework": {"slug": self.framework.slug, "version": self.framework.version, "name": self.framework.name}
            if self.framework else None,
            "competences": [{"id": c.pk, "code": c.code, "name": c.name} for c in self.competences],
            "units": [{"id": u.pk, "slug": u.slug, "name": u.name} for u in self.units],
            "cells": [
                {"unit": u.slug, "competence": c.code, **self.cells[(u.pk, c.pk)]}
                for u in self.units for c in self.competences if (u.pk, c.pk) in self.cells
            ],
            "totals": [{"competence": c.code, **self.totals[c.pk]} for c in self.competences if c.pk in self.totals],
            "took_ms": round(self.took_ms, 1),
        }


def _summarise(learners, met, gap_sum, required_sum, attained_sum):
    return {
        "learners": learners,
        "met": met,
        "met_rate": round(100 * met / learners, 1) if learners else 0.0,
        "avg_required": round(required_sum / learners, 2) if learners else 0.0,
        "avg_attained": round(attained_sum / learners, 2) if learners else 0.0,
        "avg_gap": round(gap_sum / learners, 2) if learners else 0.0,
    }


def _in_list(column, values, params):
    values = [int(v) for v in values]
    if not values:
        return "1 = 0"
    params.extend(values)
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


GAP_SQL = """
WITH m (src_comp, src_level, dst_comp, dst_level) AS (VALUES {mapping}),
req AS (
    SELECT sp.user_id AS user_id, sp.unit_id AS unit_id, m.dst_comp AS competence_id, MAX(m.dst_level) AS level
    FROM {staff} sp
    JOIN {users} u ON u.id = sp.user_id AND u.is_active = %s
    JOIN {requirement} r ON r.job_profile_id = sp.job_profile_id
    JOIN m ON m.src_comp = r.competence_id AND m.src_level = r.level
    WHERE {staff_where}
    GROUP BY sp.user_id, sp.unit_id, m.dst_comp
),
att AS (
    SELECT a.user_id AS user_id, m.dst_comp AS competence_id, MAX(m.dst_level) AS level
    FROM {attained} a
    JOIN m ON m.src_comp = a.competence_id AND m.src_level = a.level
    GROUP BY a.user_id, m.dst_comp
)
SELECT req.unit_id, req.competence_id,
       COUNT(*) AS learners,
       SUM(CASE WHEN att.level >= req.level THEN 1 ELSE 0 END) AS met,
       SUM(CASE WHEN att.level IS NULL THEN req.level
                WHEN att.level < req.level THEN req.level - att.level ELSE 0 END) AS gap_sum,
       SUM(req.level) AS required_sum,
       SUM(COALESCE(att.level, 0)) AS attained_sum
FROM req LEFT JOIN att ON att.user_id = req.user_id AND att.competence_id = req.competence_id
WHERE {competence_where}
GROUP BY req.unit_id, req.competence_id
"""


def gap_report(filters, scope=None):
    """Required against attained levels per unit and competence of the chosen
    framework, with records and requirements from crosswalked frameworks
    translated onto it. Each cell counts learners whose job profile
    requires the competence, how many meet the level, and the mean gap."""
    started = time.perf_counter()
    framework = filters.framework
    report = GapReport(framework=framework)
    if framework is None:
        return report
    mapping = translation_table(framework)
    if not mapping:
        return report
    params = []
    mapping_sql = ", ".join(f"({int(a)}, {int(b)}, {int(c)}, {int(d)})" for a, b, c, d in mapping)
    staff_where = ["sp.job_profile_id IS NOT NULL"]
    staff_params = []
    if filters.unit:
        staff_where.append(_in_list("sp.unit_id", filters.unit_ids(), staff_params))
    if filters.job_profile:
        staff_where.append("sp.job_profile_id = %s")
        staff_params.append(filters.job_profile.pk)
    if scope is not None:
        unit_ids, manager_id = scope
        scoped = []
        clause = _in_list("sp.unit_id", unit_ids, scoped)
        staff_where.append(f"({clause} OR sp.manager_id = %s)")
        staff_params.extend(scoped + [manager_id])
    competence_where = "1 = 1"
    competence_params = []
    if filters.curriculum:
        developed = ModuleCompetence.objects.filter(module__curriculum=filters.curriculum)
        translate = {(a, b): c for a, b, c, _ in mapping}
        wanted = {translate.get((mc.competence_id, mc.level)) for mc in developed} - {None}
        wanted |= {c for (sc, _), c in translate.items() if sc in {mc.competence_id for mc in developed}}
        competence_where = _in_list("req.competence_id", wanted, competence_params)
    params = [True] + staff_params + competence_params
    sql = GAP_SQL.format(
        mapping=mapping_sql,
        staff=StaffProfile._meta.db_table,
        users=get_user_model()._meta.db_table,
        requirement=JobProfileRequirement._meta.db_table,
        attained=AttainedLevel._meta.db_table,
        staff_where=" AND ".join(staff_where),
        competence_where=competence_where,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    totals = defaultdict(lambda: [0, 0, 0, 0, 0])
    unit_ids, competence_ids = set(), set()
    for unit_id, competence_id, learners, met, gap_sum, required_sum, attained_sum in rows:
        values = [int(learners), int(met or 0), int(gap_sum or 0), int(required_sum or 0), int(attained_sum or 0)]
        report.cells[(unit_id, competence_id)] = _summarise(*values)
        for i, v in enumerate(values):
            totals[competence_id][i] += v
        unit_ids.add(unit_id)
        competence_ids.add(competence_id)
    report.totals = {cid: _summarise(*v) for cid, v in totals.items()}
    report.competences = list(Competence.objects.filter(pk__in=competence_ids).order_by("code"))
    units = list(OrgUnit.objects.filter(pk__in=unit_ids - {None}).order_by("name"))
    if None in unit_ids:
        units.append(OrgUnit(pk=None, name="(no unit)", slug=""))
    report.units = units
    report.took_ms = (time.perf_counter() - started) * 1000
    return report


# --- heatmap -------------------------------------------------------------------
BUCKETS = [  # (lowest met rate, fill, text colour, label)
    (80, "#1e6b34", "#ffffff", "80–100%"),
    (60, "#7fb36a", "#1b1f23", "60–79%"),
    (40, "#e8b04a", "#1b1f23", "40–59%"),
    (20, "#d4551f", "#ffffff", "20–39%"),
    (0, "#a4141c", "#ffffff", "0–19%"),
]


def bucket(rate):
    return next(b for b in BUCKETS if rate >= b[0])


def heatmap(report, cell_w=52, cell_h=30, label_w=210, header_h=40):
    """Geometry for the server-rendered SVG heatmap (the template draws it)."""
    cells = []
    for row, (unit, values) in enumerate(report.rows()):
        for col, value in enumerate(values):
            if value is None:
                continue
            _, fill, ink, _ = bucket(value["met_rate"])
            cells.append({
                "x": label_w + col * cell_w, "y": header_h + row * cell_h, "fill": fill, "ink": ink,
                "tx": label_w + col * cell_w + cell_w // 2, "ty": header_h + row * cell_h + cell_h // 2 + 5,
                "text": f"{value['met_rate']:.0f}%", "unit": unit.name, "competence": report.competences[col],
                "value": value,
            })
    return {
        "width": label_w + cell_w * len(report.competences) + 10,
        "height": header_h + cell_h * len(report.units) + 10,
        "cell_w": cell_w, "cell_h": cell_h, "label_w": label_w, "header_h": header_h,
        "columns": [{"x": label_w + i * cell_w + cell_w // 2, "code": c.code, "name": c.name}
                    for i, c in enumerate(report.competences)],
        "rows": [{"y": header_h + i * cell_h + cell_h // 2 + 5, "name": u.name} for i, u in enumerate(report.units)],
        "cells": cells,
        "legend": [{"fill": b[1], "label": b[3]} for b in BUCKETS],
    }
