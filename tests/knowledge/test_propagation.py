"""Material changes flag the pages that cite them: transitively, to a
depth, once per revision, never looping; cleared by review or update."""

import pytest
from django.core import mail
from django.urls import reverse

from knowledge.freshness import Freshness
from knowledge.models import KnowledgePage, MaterialChange, Notification, ReviewTask
from knowledge.propagation import propagate_change, walk_citers
from tests import factories as f

from .conftest import cite, publish_change

pytestmark = pytest.mark.django_db


@pytest.fixture
def graph():
    """A is changed. B and C cite A; D cites B and C (a diamond); E cites D;
    A cites D, closing a cycle A → D → B → A. X owns B and D, Y owns C and E."""
    x, y = f.user("owner-x", "content_owner"), f.user("owner-y", "content_owner")
    a = f.policy("A: travel policy")
    b = f.procedure("B: book travel", owner=x)
    c = f.procedure("C: claim travel", owner=y)
    d = f.policy("D: travel guidance", owner=x)
    e = f.policy("E: team travel note", owner=y)
    cite(b, a)
    cite(c, a)
    cite(d, b, c)
    cite(e, d)
    cite(a, d)
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "x": x, "y": y}


def flagged(*pages):
    return {p.title[0] for p in pages if KnowledgePage.objects.get(pk=p.pk).freshness == Freshness.NEEDS_REVIEW}


def open_flags(page):
    return ReviewTask.objects.open().filter(page=page, kind="cited_change")


def test_walk_handles_cycles_and_diamonds(graph):
    g = graph
    reached = walk_citers(g["a"].pk, 2)
    assert set(reached) == {g["b"].pk, g["c"].pk, g["d"].pk}
    assert reached[g["d"].pk][0] == 2  # reached once, at its shortest distance
    deeper = walk_citers(g["a"].pk, 10)
    assert set(deeper) == {g["b"].pk, g["c"].pk, g["d"].pk, g["e"].pk}  # the cycle back to A ends the walk


def test_material_change_flags_citing_pages_to_the_configured_depth(graph, settings, django_capture_on_commit_callbacks):
    g = graph
    settings.KM_PROPAGATION_DEPTH = 2
    with django_capture_on_commit_callbacks(execute=True):
        publish_change(g["a"], "Economy class only for flights under 4 hours")
    assert flagged(*[g[k] for k in "abcde"]) == {"B", "C", "D"}
    assert open_flags(g["d"]).count() == 1  # the diamond flags D once
    change = MaterialChange.objects.get(page=g["a"])
    assert change.flagged_count == 3 and change.depth_reached == 2
    flag_d = open_flags(g["d"]).get()
    assert flag_d.via_page_id in (g["b"].pk, g["c"].pk) and flag_d.depth == 2
    assert flag_d.flag_text().startswith("A: travel policy changed on ")
    assert "Economy class only for flights under 4 hours" in flag_d.flag_text()
    assert flag_d.reviewer == g["x"]
    # one notification per owner for this change, listing their pages
    note_x = Notification.objects.get(recipient=g["x"], kind="change")
    assert "B: book travel" in note_x.body and "D: travel guidance" in note_x.body
    assert Notification.objects.filter(recipient=g["y"], kind="change").count() == 1
    assert {m.to[0] for m in mail.outbox} == {g["x"].email, g["y"].email}


def test_deeper_propagation_reaches_further_but_never_loops(graph, settings):
    g = graph
    settings.KM_PROPAGATION_DEPTH = 5
    publish_change(g["a"], "New mileage rates")
    assert flagged(*[g[k] for k in "abcde"]) == {"B", "C", "D", "E"}
    assert not open_flags(g["a"]).exists()


def test_idempotent_per_revision(graph):
    g = graph
    revision = publish_change(g["a"], "Rail first for trips under 500 km")
    tasks = ReviewTask.objects.count()
    notes = Notification.objects.count()
    again = propagate_change(g["a"], revision.pk, "Rail first for trips under 500 km")
    assert again == MaterialChange.objects.get(revision_id=revision.pk)
    revision.publish()  # publishing the same revision again
    assert ReviewTask.objects.count() == tasks and Notification.objects.count() == notes
    publish_change(g["a"], "A second change")  # a new revision is a new change
    assert open_flags(g["b"]).count() == 2


def test_minor_edits_do_not_propagate(graph):
    g = graph
    publish_change(g["a"], material=False, title="A: travel policy (typo fixed)")
    assert flagged(*[g[k] for k in "bcd"]) == set()
    assert not MaterialChange.objects.exists()
    # the material-change tick is per revision: the page row does not keep it
    assert not KnowledgePage.objects.get(pk=g["a"].pk).material_change


def test_updating_a_flagged_page_clears_its_flags_only(graph):
    g = graph
    publish_change(g["a"], "Taxi rules changed")
    publish_change(g["b"], material=False, title="B: book travel (updated)")
    assert flagged(g["b"], g["c"], g["d"]) == {"C", "D"}
    assert ReviewTask.objects.get(page=g["b"], kind="cited_change").outcome == "updated"


def test_unpublished_citing_pages_are_not_flagged(graph):
    g = graph
    draft = f.procedure("Draft procedure", publish=False)
    cite(draft, g["a"])
    publish_change(g["a"], "Change")
    assert not ReviewTask.objects.filter(page_id=draft.pk).exists()


def test_training_modules_using_the_page_are_flagged(graph, django_capture_on_commit_callbacks):
    """Through knowledge's ``material_change`` signal: training's handler
    enqueues the refresh when the publication commits, not before."""
    from tests.training import factories as tf
    from training.models import ModuleReviewRequest

    g = graph
    module_owner = f.user("module-owner", "hr")
    module = tf.module("Travel essentials", owners=[module_owner])
    tf.read_activity(module, g["a"])
    with django_capture_on_commit_callbacks() as callbacks:
        publish_change(g["a"], "Per diems halved")
    assert not ModuleReviewRequest.objects.exists()  # nothing before the commit
    for callback in callbacks:
        callback()
    request = ModuleReviewRequest.objects.get(module=module)
    assert request.summary == "Per diems halved" and request.page_id == g["a"].pk
    module.refresh_from_db()
    assert module.needs_review


def test_material_change_through_the_admin_edit_form(client, graph):
    g = graph
    owner = f.user("publisher", "content_owner")
    client.force_login(owner)
    url = reverse("wagtailadmin_pages:edit", args=[g["a"].pk])
    form = client.get(url).content.decode()
    assert 'name="material_change"' in form and 'name="change_summary"' in form

    data = f.policy_form_data(g["a"].specific, material_change="on", change_summary="")
    response = client.post(url, {**data, "action-publish": "publish"})
    assert response.status_code == 200 and "Say what changed" in response.content.decode()
    assert not MaterialChange.objects.exists()

    data = f.policy_form_data(g["a"].specific, material_change="on", change_summary="Hotel cap now 150 EUR")
    client.post(url, {**data, "action-publish": "publish"})
    assert MaterialChange.objects.get().summary == "Hotel cap now 150 EUR"
    assert flagged(g["b"], g["c"]) == {"B", "C"}
    # the next edit starts unticked
    html = client.get(url).content.decode()
    assert 'name="material_change" id="id_material_change" checked' not in html
    assert 'checked' not in html.split('name="material_change"')[1].split(">")[0]


def test_badge_on_the_page_says_what_changed_without_naming_restricted_pages(client, graph):
    g = graph
    secret = f.policy("Secret travel annex", audience="restricted")
    cite(g["c"], secret)
    publish_change(secret, "Annex rewritten")
    html = client.get(g["c"].url).content.decode()
    assert "Needs review" in html and "Secret travel annex" not in html
    assert "A page it relies on changed on" in html
    publish_change(g["a"], "Class of travel changed")
    html = client.get(g["c"].url).content.decode()
    assert "A: travel policy changed on" in html and "Class of travel changed" in html


def test_approver_editing_a_submitted_draft_keeps_the_material_change(client, django_capture_on_commit_callbacks):
    """Regression: the edit form used to untick "material change" on every
    load, so an approver who touched a submitted draft published it as minor."""
    from knowledge.models import Citation, MaterialChange

    target = f.procedure("Open tender procedure")
    citing = f.lesson("Tender delays lesson", cites=[target])
    editor = f.user("mc-editor", "editor")
    draft = target.get_latest_revision_as_object()
    draft.material_change, draft.change_summary = True, "Deadline moved to 30 days"
    draft.save_revision(user=editor)

    owner = f.user("mc-owner", "content_owner")
    client.force_login(owner)
    form_page = client.get(f"/admin/pages/{target.pk}/edit/").content.decode()
    assert "Deadline moved to 30 days" in form_page  # the draft's summary is shown, not cleared

    from tests.factories import procedure_form_data

    data = procedure_form_data(target.specific, material_change="on", change_summary="Deadline moved to 30 days",
                               responsible_role="Procurement lead")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/pages/{target.pk}/edit/", {**data, "action-publish": "publish"})
    target.refresh_from_db()
    assert target.responsible_role == "Procurement lead"
    assert MaterialChange.objects.filter(page=target).exists()
    assert Citation.objects.filter(page=citing, target=target).exists()
