"""CSV import: validation by line, all-or-nothing writes, dry runs, command and admin view."""

import io
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import IntegrityError

from knowledge.models import OrgUnit
from training.importer import run_import
from training.models import Assignment, Enrolment, ImportJob, ImportStatus, StaffProfile

from . import factories as tf

pytestmark = pytest.mark.django_db

UNITS = """slug,name,parent,manager
tax,Tax Office,,
tax-audit,Tax Audit,tax,
tax-audit-east,Tax Audit East,tax-audit,
"""


def counts():
    User = get_user_model()
    return (OrgUnit.objects.count(), User.objects.count(), StaffProfile.objects.count(), Assignment.objects.count(),
            Enrolment.objects.count())


def test_units_then_users_then_assignments(fw, course):
    result = run_import("units", UNITS, dry_run=False)
    assert result.ok and result.created == 3
    assert OrgUnit.objects.get(slug="tax-audit-east").parent.slug == "tax-audit"
    profile = tf.job_profile({fw[1]["C1"]: 3}, slug="auditor")
    users = ("username,email,first_name,last_name,unit,job_profile,manager,role\n"
             "boss,boss@example.gov,Bea,Boss,tax,,,civil_servant\n"
             "ann,ann@example.gov,Ann,Lee,tax-audit-east,auditor,boss,\n")
    result = run_import("users", users, dry_run=False)
    assert result.ok, result.errors
    ann = StaffProfile.objects.get(user__username="ann")
    assert (ann.unit.slug, ann.job_profile, ann.manager.username) == ("tax-audit-east", profile, "boss")
    assert not get_user_model().objects.get(username="ann").has_usable_password()
    rows = (f"curriculum,module,assign_to,assignee,due_date,include_subunits\n"
            f"{course['curriculum'].slug},,unit,tax-audit,2099-01-31,yes\n"
            f",{course['first'].slug},job_profile,auditor,,\n")
    result = run_import("assignments", rows, dry_run=False)
    assert result.ok and result.created == 2 and result.enrolments == 2
    assert Enrolment.objects.get(curriculum=course["curriculum"]).user.username == "ann"
    again = run_import("assignments", rows, dry_run=False)
    assert again.created == 0 and again.updated == 2 and Assignment.objects.count() == 2


def test_broken_rows_are_reported_by_line_and_nothing_is_written(course):
    tf.staff("existing")
    before = counts()
    users = ("username,email,unit,job_profile,manager,role\n"
             "good,good@example.gov,,,,\n"
             "bad user!,bad@example.gov,,,,\n"
             "x,not-an-email,nowhere,,,\n"
             "good,dupe@example.gov,,,,\n"
             "y,y@example.gov,,no-such-profile,ghost,wizard\n")
    result = run_import("users", users, dry_run=False)
    assert not result.ok
    found = {(e.line, e.column) for e in result.errors}
    assert found == {(3, "username"), (4, "email"), (4, "unit"), (5, "username"), (6, "job_profile"),
                     (6, "manager"), (6, "role")}
    assert "already appears on line 2" in next(str(e) for e in result.errors if e.line == 5)
    assert counts() == before
    assert "nothing was written" in result.summary()


def test_assignment_rows_are_validated(course):
    rows = ("curriculum,module,assign_to,assignee,due_date,include_subunits\n"
            f"{course['curriculum'].slug},{course['first'].slug},unit,x,2099-01-01,yes\n"
            "nope,,team,x,31/12/2099,maybe\n"
            f"{course['curriculum'].slug},,user,ghost,2001-01-01,\n")
    result = run_import("assignments", rows)
    messages = {(e.line, e.column): e.message for e in result.errors}
    assert "either curriculum or module" in messages[(2, "curriculum")]
    assert (3, "curriculum") in messages and (3, "assign_to") in messages
    assert "YYYY-MM-DD" in messages[(3, "due_date")] and "yes or no" in messages[(3, "include_subunits")]
    assert "in the past" in messages[(4, "due_date")] and (4, "assignee") in messages


def test_header_problems_and_ragged_rows():
    result = run_import("units", "slug,title\nx,y\n")
    assert result.errors[0].line == 1 and "missing column(s) name" in result.errors[0].message
    assert "unknown column(s) title" in result.errors[0].message
    result = run_import("units", "slug,name\na,A,extra\n")
    assert result.errors[0].line == 2 and "more values" in result.errors[0].message
    assert run_import("units", "").errors[0].message.startswith("The file is empty")
    assert "Unknown import kind" in run_import("badgers", "a\n").errors[0].message


def test_unit_cycles_in_the_file_are_caught():
    result = run_import("units", "slug,name,parent\na,A,b\nb,B,a\n")
    assert {e.line for e in result.errors if "loops" in e.message} == {2, 3}


def test_dry_run_writes_nothing_but_reports_what_would_happen():
    before = counts()
    result = run_import("units", UNITS, dry_run=True)
    assert result.ok and result.created == 3 and "would be written" in result.summary()
    assert counts() == before


def test_database_error_half_way_rolls_everything_back():
    before = counts()
    real_update_or_create = OrgUnit.objects.update_or_create
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise IntegrityError("simulated failure on the second row")
        return real_update_or_create(*args, **kwargs)

    with mock.patch.object(type(OrgUnit.objects), "update_or_create", side_effect=flaky, autospec=False):
        result = run_import("units", UNITS, dry_run=False)
    assert not result.ok and "simulated failure" in result.errors[0].message
    assert result.created == 0 and counts() == before


def test_management_command(tmp_path):
    path = tmp_path / "units.csv"
    path.write_text(UNITS, encoding="utf-8")
    out = io.StringIO()
    call_command("import_training_csv", "units", str(path), "--dry-run", stdout=out)
    assert "Dry run: 3 row(s) valid" in out.getvalue() and not OrgUnit.objects.filter(slug="tax").exists()
    call_command("import_training_csv", "units", str(path), stdout=io.StringIO())
    assert OrgUnit.objects.filter(slug="tax").exists()
    path.write_text("slug,name\n,\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import_training_csv", "units", str(path), stdout=io.StringIO(), stderr=err)
    assert "line 2, column slug" in err.getvalue()


def test_admin_upload_dry_run_then_import(client, django_capture_on_commit_callbacks):
    hr = tf.staff("hr-person", role="hr")
    client.force_login(hr)
    response = client.get("/admin/training/import/")
    assert response.status_code == 200 and b"Dry run" in response.content
    upload = SimpleUploadedFile("units.csv", UNITS.encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/training/import/", {"kind": "units", "file": upload, "dry_run": "on"})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/training/import/{job.pk}/")
    job.refresh_from_db()
    assert job.status == ImportStatus.VALID and not OrgUnit.objects.filter(slug="tax").exists()
    page = client.get(response.url)
    assert b"for real" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(response.url)
    real = ImportJob.objects.exclude(pk=job.pk).get()
    real.refresh_from_db()
    assert real.status == ImportStatus.DONE and OrgUnit.objects.filter(slug="tax-audit-east").exists()


def test_admin_shows_errors_by_line(client, django_capture_on_commit_callbacks):
    client.force_login(tf.staff("hr2", role="hr"))
    upload = SimpleUploadedFile("bad.csv", b"slug,name,parent\nok,OK,\nbad slug,,missing\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/training/import/", {"kind": "units", "file": upload})
    page = client.get(response.url)
    assert page.status_code == 200
    assert b"Invalid (nothing written)" in page.content and b"not a valid slug" in page.content
    assert b"<td>3</td>" in page.content
    assert not OrgUnit.objects.filter(slug="ok").exists()


def test_import_needs_permission(client):
    client.force_login(tf.staff("editor-x", role="editor"))
    assert client.get("/admin/training/import/").status_code in (302, 403)
