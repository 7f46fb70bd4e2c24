"""HR edits the framework and curricula through the Wagtail admin."""

import pytest
from wagtail.test.utils.form_data import inline_formset, nested_form_data

from training.models import Competence, Framework, Module

from . import factories as tf

pytestmark = pytest.mark.django_db


def test_hr_creates_a_framework_with_levels_and_areas(client):
    client.force_login(tf.staff("hr-admin", role="hr"))
    data = nested_form_data({
        "name": "Records framework", "slug": "records", "version": "2", "status": "active",
        "published_on": "2025-06-01", "description": "",
        "levels": inline_formset([{"number": 1, "name": "Aware", "descriptor": "Knows it"},
                                  {"number": 2, "name": "Able", "descriptor": "Does it"}]),
        "areas": inline_formset([{"code": "R", "name": "Records", "description": ""}]),
    })
    response = client.post("/admin/snippets/training/framework/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    framework = Framework.objects.get(slug="records")
    assert framework.level_numbers == [1, 2] and framework.areas.get().code == "R"
    data = nested_form_data({
        "area": framework.areas.get().pk, "code": "R1", "name": "Filing", "description": "",
        "level_descriptors": inline_formset([]), "evidence_rules": inline_formset([{"kind": "review_on_time"}]),
    })
    response = client.post("/admin/snippets/training/competence/add/", data)
    assert response.status_code == 302
    assert Competence.objects.get(code="R1").framework == framework


def test_module_form_saves_activities_competences_and_prerequisites(client, fw, course):
    _, comps = fw
    client.force_login(tf.staff("hr-admin2", role="hr"))
    data = nested_form_data({
        "curriculum": course["curriculum"].pk, "sort_order": 3, "title": "Archiving", "slug": "archiving",
        "summary": "How to archive.",
        "competences": inline_formset([{"competence": comps["C3"].pk, "level": 2}]),
        "activities": inline_formset([
            {"kind": "read", "title": "Read the policy", "page": course["page_a"].pk, "estimated_minutes": 5,
             "instructions": "", "url": "", "pass_mark": 80, "max_attempts": 3, "location": ""},
            {"kind": "external", "title": "Broken", "url": "", "estimated_minutes": 5, "instructions": "",
             "pass_mark": 80, "max_attempts": 3, "location": ""},
        ]),
    })
    data["prerequisites"] = [course["first"].pk]
    response = client.post("/admin/snippets/training/module/add/", data)
    assert response.status_code == 200 and "Give the address of the external resource" in response.content.decode()
    data["activities-1-url"] = "https://example.gov/guide"
    response = client.post("/admin/snippets/training/module/add/", data)
    assert response.status_code == 302
    module = Module.objects.get(slug="archiving")
    assert [a.kind for a in module.activities.all()] == ["read", "external"]
    assert list(module.prerequisites.all()) == [course["first"]]
    assert module.competences.get().level == 2
