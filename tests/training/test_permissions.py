"""Who sees whose records, per role: learners their own, managers their
unit's (sub-units included) and direct reports, HR everything."""

import pytest

from training.models import AttainedLevel, Certificate
from training.permissions import can_manage_learner, visible_learners

from . import factories as tf

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(units, fw):
    _, comps = fw
    manager = tf.staff("manager", role="content_owner", unit=units["ministry"])
    units["directorate"].manager = manager
    units["directorate"].save()
    p = {
        "manager": manager,
        "in_team": tf.staff("in-team", unit=units["team"]),  # sub-unit of the managed directorate
        "in_dir": tf.staff("in-dir", unit=units["directorate"]),
        "outsider": tf.staff("outsider", unit=units["agency"]),
        "report": tf.staff("report", unit=units["agency"], manager=manager),  # direct report elsewhere
        "hr": tf.staff("hr-officer", role="hr", unit=units["agency"]),
        "editor": tf.staff("editor-y", role="editor", unit=units["agency"]),
    }
    for user in p.values():
        AttainedLevel.objects.create(user=user, competence=comps["C1"], level=2)
    return p


def test_visible_learners_per_role(people):
    names = lambda user: set(visible_learners(user).values_list("username", flat=True))  # noqa: E731
    assert names(people["outsider"]) == {"outsider"}
    assert names(people["manager"]) == {"manager", "in-team", "in-dir", "report"}
    assert names(people["hr"]) >= {u.username for u in people.values()}
    assert not can_manage_learner(people["manager"], people["manager"])  # nobody validates themselves
    assert can_manage_learner(people["manager"], people["in_team"])
    assert not can_manage_learner(people["in_dir"], people["in_team"])


@pytest.mark.parametrize("viewer,target,status", [
    ("outsider", "outsider", 200),
    ("outsider", "in_team", 404),
    ("manager", "in_team", 200),
    ("manager", "report", 200),
    ("manager", "outsider", 404),
    ("hr", "outsider", 200),
    ("editor", "in_team", 404),
])
def test_learner_record_page(client, people, viewer, target, status):
    client.force_login(people[viewer])
    response = client.get(f"/learning/people/{people[target].username}/")
    assert response.status_code == status


def test_only_managers_and_hr_may_change_levels(client, people, fw):
    _, comps = fw
    target = people["in_team"]
    data = {"competence": comps["C1"].pk, "action": "adjust", "level": 4, "comment": "Led the migration"}
    client.force_login(target)
    assert client.post(f"/learning/people/{target.username}/", data).status_code == 403
    client.force_login(people["manager"])
    response = client.post(f"/learning/people/{target.username}/", data)
    assert response.status_code == 302
    level = AttainedLevel.objects.get(user=target, competence=comps["C1"])
    assert (level.level, level.validated_by, level.comment) == (4, people["manager"], "Led the migration")
    response = client.post(f"/learning/people/{target.username}/", {**data, "level": 5, "comment": ""}, follow=True)
    assert "comment is required" in response.content.decode()
    client.force_login(people["hr"])
    assert client.post(f"/learning/people/{target.username}/", {**data, "action": "validate"}).status_code == 302


@pytest.mark.parametrize("who,status", [("outsider", 403), ("editor", 403), ("manager", 200), ("hr", 200)])
def test_reports_and_team_pages_per_role(client, people, who, status):
    client.force_login(people[who])
    assert client.get("/learning/reports/").status_code == status
    assert client.get("/learning/team/").status_code == status
    assert client.get("/learning/api/completion-report/").status_code == status


def test_team_page_lists_only_visible_people(client, people):
    client.force_login(people["manager"])
    html = client.get("/learning/team/").content.decode()
    assert "in-team" in html and "report" in html and "outsider" not in html


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get("/learning/")
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_certificates_are_private(client, people, course):
    cert = Certificate.objects.create(user=people["in_team"], curriculum=course["curriculum"])
    for who, status in [("outsider", 404), ("manager", 200), ("hr", 200), ("in_team", 200)]:
        client.force_login(people[who])
        assert client.get(f"/learning/certificates/{cert.code}/").status_code == status, who
        assert client.get(f"/learning/certificates/{cert.code}/pdf/").status_code == status, who


def test_attendance_is_marked_by_trainer_owner_or_hr(client, people, fw):
    module = tf.module("Session module")
    session = tf.attendance_activity(module, trainer=people["in_dir"])
    from training.models import Enrolment

    Enrolment.objects.create(user=people["outsider"], module=module)
    for who, status in [("outsider", 403), ("in_dir", 200), ("hr", 200)]:
        client.force_login(people[who])
        assert client.get(f"/learning/activities/{session.pk}/attendance/").status_code == status
    client.force_login(people["in_dir"])
    response = client.post(f"/learning/activities/{session.pk}/attendance/", {"present": [people["outsider"].pk]})
    assert response.status_code == 302
    assert session.progress.get().user == people["outsider"]
    response = client.post(f"/learning/activities/{session.pk}/attendance/", {"present": [people["hr"].pk]}, follow=True)
    assert "not enrolled" in response.content.decode()


def test_training_admin_menu_for_hr_only(client, people):
    client.force_login(people["hr"])
    html = client.get("/admin/").content.decode()
    assert "Training" in html
    assert client.get("/admin/snippets/training/framework/").status_code == 200
    assert client.get("/admin/snippets/training/curriculum/add/").status_code == 200
    client.force_login(people["editor"])
    assert client.get("/admin/snippets/training/framework/").status_code in (302, 403)


@pytest.mark.parametrize("model", ["framework", "competence", "crosswalk", "jobprofile", "pagecompetence",
                                   "curriculum", "module", "activity", "staffprofile", "assignment"])
def test_hr_admin_forms_render(client, people, model):
    client.force_login(people["hr"])
    assert client.get(f"/admin/snippets/training/{model}/").status_code == 200
    assert client.get(f"/admin/snippets/training/{model}/add/").status_code == 200
