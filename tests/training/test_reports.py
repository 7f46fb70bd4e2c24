"""HR reports: the gap matrix maths, crosswalks, filters, scope, completion
rates, exports and the JSON API."""

import csv
import datetime
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from tests import factories as kf
from training.models import (
    AttainedLevel,
    CompetenceMapping,
    Crosswalk,
    Enrolment,
    FrameworkStatus,
    LevelMapping,
)
from training.reports import ReportFilterError, completion_report, gap_report, parse_filters, translation_table

from . import factories as tf

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(units, fw):
    framework, comps = fw
    profile = tf.job_profile({comps["C1"]: 3, comps["C2"]: 2}, slug="analyst")
    boss = tf.staff("boss")
    people = {
        "a": tf.staff("a", unit=units["team"], job_profile=profile),
        "b": tf.staff("b", unit=units["team"], job_profile=profile),
        "c": tf.staff("c", unit=units["agency"], job_profile=profile, manager=boss),
        "d": tf.staff("d", unit=units["directorate"]),
        "e": tf.staff("e", unit=units["agency"], job_profile=profile),
    }
    people["e"].is_active = False
    people["e"].save()
    for user, code, level in [("a", "C1", 3), ("a", "C2", 1), ("b", "C1", 4), ("e", "C1", 6)]:
        AttainedLevel.objects.create(user=people[user], competence=comps[code], level=level)
    return {"framework": framework, "comps": comps, "profile": profile, "boss": boss, **people}


def cells(report):
    return {(u.slug, c.code): report.cell(u.pk, c.pk) for u in report.units for c in report.competences
            if report.cell(u.pk, c.pk)}


def test_gap_matrix_counts_required_against_attained(org, units):
    report = gap_report(parse_filters({}))
    got = cells(report)
    assert set(got) == {("team", "C1"), ("team", "C2"), ("agency", "C1"), ("agency", "C2")}
    assert got[("team", "C1")] == {"learners": 2, "met": 2, "met_rate": 100.0, "avg_required": 3.0,
                                   "avg_attained": 3.5, "avg_gap": 0.0}
    assert got[("team", "C2")] == {"learners": 2, "met": 0, "met_rate": 0.0, "avg_required": 2.0,
                                   "avg_attained": 0.5, "avg_gap": 1.5}
    assert got[("agency", "C1")]["avg_gap"] == 3.0 and got[("agency", "C1")]["learners"] == 1  # e is inactive
    total = report.totals[org["comps"]["C1"].pk]
    assert (total["learners"], total["met"], total["met_rate"]) == (3, 2, 66.7)


def test_gap_filters_unit_subtree_job_profile_and_curriculum(org, units, fw):
    assert {u.slug for u in gap_report(parse_filters({"unit": "ministry"})).units} == {"team"}
    other = tf.job_profile({org["comps"]["C3"]: 1}, slug="other")
    assert gap_report(parse_filters({"job_profile": other.slug})).units == []
    cur = tf.curriculum("C2 only")
    tf.module("Teaches C2", cur, develops={org["comps"]["C2"]: 2})
    report = gap_report(parse_filters({"curriculum": cur.slug}))
    assert [c.code for c in report.competences] == ["C2"]


def test_manager_scope_is_their_units_and_direct_reports(org, units):
    units["directorate"].manager = org["boss"]
    units["directorate"].save()
    from training.permissions import report_scope

    report = gap_report(parse_filters({}), report_scope(org["boss"]))
    assert {u.slug for u in report.units} == {"team", "agency"}  # agency only through c, a direct report
    assert cells(report)[("agency", "C1")]["learners"] == 1


@pytest.fixture
def crosswalked(org, units):
    """A four-level framework whose D1 maps onto C3 with levels 1→1, 2→2, 3→4, 4→5."""
    old, dcomps = tf.framework("de", levels=4, codes=("D1",), status=FrameworkStatus.ACTIVE, published_on="2020-01-01")
    cw = Crosswalk.objects.create(name="de → km", source=old, target=org["framework"])
    for s, t in {1: 1, 2: 2, 3: 4, 4: 5}.items():
        LevelMapping.objects.create(crosswalk=cw, source_level=s, target_level=t)
    CompetenceMapping.objects.create(crosswalk=cw, source_competence=dcomps["D1"], target_competence=org["comps"]["C3"])
    profile = tf.job_profile({org["comps"]["C3"]: 4}, slug="steward")
    f = tf.staff("f", unit=units["agency"], job_profile=profile)
    g = tf.staff("g", unit=units["agency"], job_profile=profile)
    AttainedLevel.objects.create(user=f, competence=dcomps["D1"], level=3)
    AttainedLevel.objects.create(user=g, competence=dcomps["D1"], level=2)
    return old, dcomps


def test_translation_table_maths(org, crosswalked):
    old, dcomps = crosswalked
    c3, d1 = org["comps"]["C3"].pk, dcomps["D1"].pk
    forward = {(s, sl): (t, tl) for s, sl, t, tl in translation_table(org["framework"])}
    assert forward[(c3, 5)] == (c3, 5)  # own competences map to themselves
    assert [forward[(d1, lvl)] for lvl in (1, 2, 3, 4)] == [(c3, 1), (c3, 2), (c3, 4), (c3, 5)]
    backward = {(s, sl): (t, tl) for s, sl, t, tl in translation_table(old)}
    # read backwards, conservatively: KM level 3 only reaches DE level 2 (DE 3 means KM 4)
    assert [backward[(c3, lvl)][1] for lvl in range(1, 7)] == [1, 2, 2, 3, 4, 4]


def test_records_against_either_framework_compare(org, crosswalked):
    old, _ = crosswalked
    got = cells(gap_report(parse_filters({"job_profile": "steward"})))
    assert got[("agency", "C3")]["met"] == 1 and got[("agency", "C3")]["avg_gap"] == 1.0  # f: 3→4 met; g: 2→2
    got = cells(gap_report(parse_filters({"job_profile": "steward", "framework": "de"})))
    assert got[("agency", "D1")]["learners"] == 2  # the KM requirement (4) read as DE 3
    assert got[("agency", "D1")]["met"] == 1 and got[("agency", "D1")]["avg_required"] == 3.0


def test_completion_and_overdue_rates(org, course, units):
    today = timezone.localdate()
    past, future = today - datetime.timedelta(days=3), today + datetime.timedelta(days=30)
    Enrolment.objects.create(user=org["a"], curriculum=course["curriculum"], due_date=past)
    Enrolment.objects.create(user=org["b"], curriculum=course["curriculum"], due_date=past, completed_at=timezone.now())
    Enrolment.objects.create(user=org["c"], module=course["first"], due_date=future)
    data = completion_report(parse_filters({}))
    assert data["overall"] == {"total": 3, "completed": 1, "overdue": 1, "learners": 3,
                               "completion_rate": 33.3, "overdue_rate": 33.3}
    team = next(r for r in data["by_unit"] if r["unit"] == units["team"])
    assert (team["total"], team["completion_rate"], team["overdue_rate"]) == (2, 50.0, 50.0)
    assert {str(r["target"]) for r in data["by_target"]} == {"Records essentials", "Keeping records"}
    only_future = completion_report(parse_filters({"date_from": today.isoformat()}))
    assert only_future["overall"]["total"] == 1
    by_curriculum = completion_report(parse_filters({"curriculum": course["curriculum"].slug}))
    assert by_curriculum["overall"]["total"] == 3  # the module belongs to the curriculum


@pytest.mark.parametrize("params,field", [
    ({"unit": "atlantis"}, "unit"),
    ({"date_from": "31/01/2025"}, "date_from"),
    ({"date_from": "2025-02-01", "date_to": "2025-01-01"}, "date_from"),
    ({"colour": "blue"}, "colour"),
    ({"framework": "nope"}, "framework"),
])
def test_bad_filters_name_the_parameter(fw, params, field):
    with pytest.raises(ReportFilterError) as exc:
        parse_filters(params)
    assert exc.value.field == field


def test_csv_and_xlsx_exports(client, org, units):
    units["team"].name = "=HYPERLINK(\"http://evil\")"
    units["team"].save()
    client.force_login(tf.staff("hr", role="hr"))
    response = client.get("/learning/reports/export/?report=gap&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["unit", "competence_code", "competence", "learners"]
    assert any(r[0].startswith("'=HYPERLINK") for r in rows[1:])  # neutralised formula
    response = client.get("/learning/reports/export/?format=xlsx&unit=ministry")
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["Completion", "Skills gap", "Heatmap (% meeting level)", "Filters"]
    assert wb["Skills gap"]["B2"].value == "C1"
    assert client.get("/learning/reports/export/?format=pdf").status_code == 400
    assert client.get("/learning/reports/export/?unit=atlantis").status_code == 400


def test_report_page_draws_heatmap_and_table(client, org):
    client.force_login(tf.staff("hr", role="hr"))
    response = client.get("/learning/reports/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in html and "<rect" in html and "100%" in html
    assert 'class="data gap-table"' in html and "2/2" in html
    response = client.get("/learning/reports/?date_from=nonsense")
    assert response.status_code == 400 and "YYYY-MM-DD" in response.content.decode()


def test_json_api(client, org):
    assert client.get("/learning/api/gap-report/").status_code == 401
    client.force_login(tf.staff("civil-x"))
    assert client.get("/learning/api/gap-report/").status_code == 403
    client.force_login(tf.staff("hr", role="hr"))
    data = client.get("/learning/api/gap-report/?unit=ministry").json()
    assert data["filters"]["unit"] == "ministry" and data["framework"]["slug"] == "km"
    assert {(c["unit"], c["competence"], c["met"]) for c in data["cells"]} == {("team", "C1", 2), ("team", "C2", 0)}
    error = client.get("/learning/api/gap-report/?job_profile=ghost")
    assert error.status_code == 400 and error.json()["error"]["field"] == "job_profile"
    data = client.get("/learning/api/completion-report/").json()
    assert data["overall"]["total"] == 0 and data["by_unit"] == []


def test_empty_installation_reports_without_error(client):
    client.force_login(kf.user("admin", "administrator"))
    assert client.get("/learning/reports/").status_code == 200
    assert client.get("/learning/api/gap-report/").json()["framework"] is None


def test_a_new_framework_version_keeps_old_records_comparable(org):
    old = org["framework"]
    new = old.new_version("2")
    assert new.status == "draft" and new.level_numbers == old.level_numbers
    assert sorted(new.competences.values_list("code", flat=True)) == ["C1", "C2", "C3"]
    assert AttainedLevel.objects.filter(competence__framework=new).count() == 0  # records stay on v1
    got = cells(gap_report(parse_filters({"framework": "km", "version": "2"})))
    assert got[("team", "C1")]["met"] == 2  # v1 requirements and records read through the crosswalk
