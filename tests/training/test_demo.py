"""The training demo loads on top of the knowledge demo, twice without change."""

import io

import pytest
from django.core.management import call_command

from training.models import (
    Activity,
    Certificate,
    Competence,
    Curriculum,
    Enrolment,
    Framework,
    ModuleCompletion,
    StaffProfile,
)
from training.reports import gap_report, parse_filters

pytestmark = pytest.mark.django_db


def test_load_training_demo_is_idempotent():
    call_command("load_demo", interactive=False, no_index=True, stdout=io.StringIO())
    call_command("load_training_demo", stdout=io.StringIO())
    counts = [m.objects.count() for m in (Framework, Competence, Curriculum, Activity, StaffProfile, Enrolment,
                                         ModuleCompletion, Certificate)]
    assert counts[0] == 2 and counts[1] >= 18 and counts[2] == 3 and counts[4] == 15
    assert Activity.objects.filter(kind="read", page__isnull=True).count() == 0
    assert Certificate.objects.exists()  # someone finished a curriculum
    out = io.StringIO()
    call_command("load_training_demo", stdout=out)
    assert "0 new enrolments, 0 modules completed, 0 levels recorded" in out.getvalue()
    assert [m.objects.count() for m in (Framework, Competence, Curriculum, Activity, StaffProfile, Enrolment,
                                        ModuleCompletion, Certificate)] == counts
    report = gap_report(parse_filters({}))
    assert report.framework.slug == "govkm-km" and len(report.units) >= 5
