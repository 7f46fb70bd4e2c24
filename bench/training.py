"""Training benchmark: the HR skills-gap report for 10,000 learners × 20
modules (and 20 required competences each), plus the completion report and
the JSON API, on a scratch database.

    .venv/bin/python bench/training.py [--learners 10000] [--modules 20] [--repeat 7]
                                       [--json bench/results/training.json]

BENCH_DATABASE_URL=postgres://... runs it on PostgreSQL (a database that can
be migrated and filled); the default is a fresh SQLite file. Goal: the gap
report under one second on a 2-core machine.
"""

import argparse
import datetime
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, machine, peak_rss_mb, scratch_environment  # noqa: E402


def build(learners, modules, seed=11):
    """Bulk-load a framework, job profiles, curricula, units, learners,
    their attained levels (some against a crosswalked framework) and enrolments."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from knowledge.models import OrgUnit
    from training.models import (
        AttainedLevel,
        Competence,
        CompetenceArea,
        CompetenceMapping,
        Crosswalk,
        Curriculum,
        Enrolment,
        Framework,
        JobProfile,
        JobProfileRequirement,
        LevelMapping,
        Module,
        ModuleCompetence,
        ModuleCompletion,
        ProficiencyLevel,
        StaffProfile,
    )

    rng = random.Random(seed)
    fw = Framework.objects.create(name="Bench KM", slug="bench-km", version="1", status="active",
                                  published_on="2025-01-01")
    ProficiencyLevel.objects.bulk_create([ProficiencyLevel(framework=fw, number=n, name=f"L{n}", descriptor="-")
                                          for n in range(1, 7)])
    areas = [CompetenceArea.objects.create(framework=fw, code=f"A{i}", name=f"Area {i}") for i in range(4)]
    comps = [Competence.objects.create(area=areas[i % 4], code=f"K{i:02d}", name=f"Competence {i}")
             for i in range(modules)]
    old = Framework.objects.create(name="Bench essentials", slug="bench-ess", version="1", status="active",
                                   published_on="2020-01-01")
    ProficiencyLevel.objects.bulk_create([ProficiencyLevel(framework=old, number=n, name=f"E{n}", descriptor="-")
                                          for n in range(1, 5)])
    old_area = CompetenceArea.objects.create(framework=old, code="E", name="Essentials")
    old_comps = [Competence.objects.create(area=old_area, code=f"E{i}", name=f"Essential {i}") for i in range(5)]
    cw = Crosswalk.objects.create(name="ess → km", source=old, target=fw)
    LevelMapping.objects.bulk_create([LevelMapping(crosswalk=cw, source_level=s, target_level=t)
                                      for s, t in {1: 1, 2: 2, 3: 4, 4: 5}.items()])
    CompetenceMapping.objects.bulk_create([CompetenceMapping(crosswalk=cw, source_competence=o, target_competence=c)
                                           for o, c in zip(old_comps, comps)])
    profiles = []
    for p in range(5):
        profile = JobProfile.objects.create(name=f"Profile {p}", slug=f"profile-{p}")
        JobProfileRequirement.objects.bulk_create(
            [JobProfileRequirement(job_profile=profile, competence=c, level=rng.randint(2, 5)) for c in comps])
        profiles.append(profile)
    curricula = [Curriculum.objects.create(title=f"Curriculum {i}", slug=f"curriculum-{i}", summary="-")
                 for i in range(2)]
    mods = []
    for i, c in enumerate(comps):
        m = Module.objects.create(title=f"Module {i}", slug=f"module-{i}", summary="-", curriculum=curricula[i % 2])
        ModuleCompetence.objects.create(module=m, competence=c, level=3 + i % 2)
        mods.append(m)
    tops = [OrgUnit.objects.create(name=f"Ministry {i}", slug=f"ministry-{i}") for i in range(5)]
    units = tops + [OrgUnit.objects.create(name=f"Unit {t}.{j}", slug=f"unit-{t}-{j}", parent=tops[t])
                    for t in range(5) for j in range(9)]
    User = get_user_model()
    User.objects.bulk_create([User(username=f"learner{i:05d}", email=f"learner{i}@example.gov", password="!")
                              for i in range(learners)], batch_size=2000)
    user_ids = list(User.objects.filter(username__startswith="learner").values_list("pk", flat=True))
    StaffProfile.objects.bulk_create(
        [StaffProfile(user_id=u, unit=rng.choice(units), job_profile=rng.choice(profiles)) for u in user_ids],
        batch_size=2000)
    now, today = timezone.now(), timezone.localdate()
    levels, completions, enrolments = [], [], []
    for u in user_ids:
        for m, c in zip(mods, comps):
            if rng.random() < 0.6:
                levels.append(AttainedLevel(user_id=u, competence=c, level=rng.randint(1, 6), attained_at=now))
                completions.append(ModuleCompletion(user_id=u, module=m, completed_at=now, score=rng.randint(60, 100)))
        for oc in rng.sample(old_comps, 2):
            levels.append(AttainedLevel(user_id=u, competence=oc, level=rng.randint(1, 4), attained_at=now))
        for cur in curricula:
            done = rng.random() < 0.4
            enrolments.append(Enrolment(user_id=u, curriculum=cur, due_date=today + datetime.timedelta(
                days=rng.randint(-60, 90)), completed_at=now if done else None))
    AttainedLevel.objects.bulk_create(levels, batch_size=5000)
    ModuleCompletion.objects.bulk_create(completions, batch_size=5000)
    Enrolment.objects.bulk_create(enrolments, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:  # fresh statistics, as a real database would have
        cursor.execute("ANALYZE")
    return {"learners": len(user_ids), "competences": len(comps), "modules": len(mods), "units": len(units),
            "requirements_per_learner": len(comps), "attained_levels": len(levels),
            "module_completions": len(completions), "enrolments": len(enrolments)}


def timed(fn, repeat):
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(samples), 1), "min_ms": round(min(samples), 1),
            "max_ms": round(max(samples), 1)}, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=10_000)
    parser.add_argument("--modules", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", default=str(ROOT / "bench/results/training.json"))
    args = parser.parse_args()

    scratch_environment("govkm-bench-training-")
    from django.db import connection
    from django.test import Client

    from tests import factories as kf
    from training.permissions import report_scope
    from training.reports import completion_report, gap_report, parse_filters

    started = time.perf_counter()
    data = build(args.learners, args.modules)
    data["build_s"] = round(time.perf_counter() - started, 1)
    print(f"built {data['learners']} learners × {data['modules']} modules in {data['build_s']} s "
          f"({data['attained_levels']} attained levels, {data['enrolments']} enrolments) on {connection.vendor}")

    results = {}
    results["gap_report_all"], report = timed(lambda: gap_report(parse_filters({})), args.repeat)
    cells = len(report.cells)
    results["gap_report_one_ministry"], _ = timed(lambda: gap_report(parse_filters({"unit": "ministry-0"})),
                                                  args.repeat)
    hr = kf.user("bench-hr", "hr")
    from knowledge.models import OrgUnit

    manager = kf.user("bench-manager", "content_owner")
    OrgUnit.objects.filter(slug="ministry-1").update(manager=manager)
    results["gap_report_manager_scope"], _ = timed(
        lambda: gap_report(parse_filters({}), report_scope(manager)), args.repeat)
    results["completion_report_all"], _ = timed(lambda: completion_report(parse_filters({})), args.repeat)
    client = Client(HTTP_HOST="localhost")
    client.force_login(hr)
    results["gap_report_api"], response = timed(lambda: client.get("/learning/api/gap-report/"), args.repeat)
    assert response.status_code == 200, response.status_code
    results["report_page_html"], response = timed(lambda: client.get("/learning/reports/"), max(3, args.repeat // 2))
    assert response.status_code == 200, response.status_code

    goal_ms = 1000
    out = {
        "benchmark": "training HR gap report",
        "database": connection.vendor,
        "data": data,
        "gap_cells": cells,
        "results": results,
        "goal_ms": goal_ms,
        "goal_met": results["gap_report_all"]["median_ms"] < goal_ms,
        "machine": machine(),
        "peak_rss_mb": peak_rss_mb(),
    }
    for name, r in results.items():
        print(f"{name:28s} median {r['median_ms']:8.1f} ms   min {r['min_ms']:8.1f}   max {r['max_ms']:8.1f}")
    verdict = "met" if out["goal_met"] else "NOT met"
    print(f"goal (< {goal_ms} ms for the whole-organisation gap report): {verdict}")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
