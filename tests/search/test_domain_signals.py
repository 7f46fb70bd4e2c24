"""Search acts on knowledge's domain signals (knowledge/signals.py) as the
direct calls into search.indexing did: the work is in the outbox in the
sender's transaction, and goes to a worker on commit; a page's "Related
guidance" reaches knowledge through a Wagtail hook."""

import datetime

import pytest
from wagtail import hooks

from knowledge.models import KnowledgePage
from knowledge.review import confirm_review
from knowledge.signals import freshness_changed
from knowledge.sweep import reindex
from search.models import IndexOutbox
from tests import factories as f

pytestmark = pytest.mark.django_db


def reasons(page_ids):
    return sorted(IndexOutbox.objects.filter(page_id__in=page_ids).values_list("page_id", "reason"))


def test_a_review_is_scheduled_for_reindexing_in_its_own_transaction(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # published and indexed, as after a commit
        page = f.policy("Reviewed policy", owner=f.user("rev-owner", "content_owner"),
                        last_reviewed=datetime.date(2020, 1, 1))
    IndexOutbox.objects.all().delete()
    with django_capture_on_commit_callbacks() as callbacks:
        confirm_review(KnowledgePage.objects.get(pk=page.pk).specific, page.owner_user)
        assert reasons([page.pk]) == [(page.pk, "freshness")]  # written before the commit
    assert callbacks  # and handed to a worker on commit


def test_freshness_changes_of_many_pages_are_scheduled_in_bulk(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        pages = [f.policy(f"Swept policy {i}") for i in range(3)]
    ids = [p.pk for p in pages]
    IndexOutbox.objects.all().delete()
    reindex(ids, per_transaction=2)  # the sweep: two transactions
    assert reasons(ids) == [(pk, "freshness") for pk in sorted(ids)]
    IndexOutbox.objects.all().delete()
    freshness_changed.send(sender=KnowledgePage, page_ids=ids[:1], reason="freshness")
    freshness_changed.send(sender=KnowledgePage, page_ids=[], reason="freshness")  # nothing to do
    assert reasons(ids) == [(ids[0], "freshness")]


def test_a_knowledge_page_shows_related_guidance_through_searchs_hook(client, django_capture_on_commit_callbacks):
    """knowledge_tags' {% related_guidance %} asks the knowledge_related_pages
    hook; search fills it with the pages the visitor may view."""
    from search.wagtail_hooks import related_pages

    assert related_pages in hooks.get_hooks("knowledge_related_pages")
    with django_capture_on_commit_callbacks(execute=True):
        page = f.policy("Gifts policy", body="All gifts must be declared, whatever their value.")
        f.policy("Gift declaration guidance", body="Declare every gift you are offered, whatever its value.")
        f.policy("Supplier gift register", body="The gift register is kept by procurement.", audience="internal")
    html = client.get(page.url).content.decode()
    assert "Related guidance" in html and "Gift declaration guidance" in html
    assert "Supplier gift register" not in html  # not for an anonymous visitor
