"""The demo content: loads, is idempotent, resets."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from knowledge.demo import load_pages
from knowledge.models import Citation, KnowledgePage, PolicyPage
from tests.conftest import Today

pytestmark = pytest.mark.django_db


def test_demo_content_meets_its_brief():
    pages = load_pages()
    assert len(pages) >= 60
    kinds = {k: sum(p["type"] == k for p in pages) for k in ("policy", "procedure", "lesson")}
    assert all(v >= 10 for v in kinds.values()), kinds
    assert sum(p["audience"] == "restricted" for p in pages) >= 5
    assert sum(p.get("status") == "superseded" for p in pages) >= 3
    slugs = {p["slug"] for p in pages}
    for p in pages:
        for c in p.get("cites") or []:
            assert c["page"] in slugs, (p["slug"], c)


def test_load_demo_is_idempotent_and_reset_starts_over():
    out = io.StringIO()
    call_command("load_demo", interactive=False, no_index=True, stdout=out)
    first = KnowledgePage.objects.count()
    citations = Citation.objects.count()
    assert first >= 60 and citations >= 40
    assert "created" in out.getvalue()

    out = io.StringIO()
    call_command("load_demo", interactive=False, no_index=True, stdout=out)
    assert KnowledgePage.objects.count() == first
    assert Citation.objects.count() == citations
    assert "0 created" in out.getvalue()

    call_command("load_demo", reset=True, interactive=False, no_index=True, stdout=io.StringIO())
    assert KnowledgePage.objects.count() == first


def test_demo_has_overdue_superseded_and_restricted_pages():
    call_command("load_demo", interactive=False, no_index=True, stdout=io.StringIO())
    today = timezone.localdate()
    overdue = [p for p in KnowledgePage.objects.live().specific() if p.next_review_due and p.next_review_due < today]
    assert len(overdue) >= 5
    superseded = PolicyPage.objects.filter(status="superseded")
    assert superseded.count() >= 3
    assert all(p.superseded_by is not None for p in superseded)
    assert KnowledgePage.objects.filter(audience="restricted").count() >= 5
    assert today > datetime.date(2026, 1, 1)


def test_demo_arrives_with_flagged_pages_tasks_and_figures():
    from knowledge.models import FreshnessSnapshot, MaterialChange, ReviewTask

    today = Today()
    call_command("load_demo", interactive=False, no_index=True, stdout=io.StringIO())
    change = MaterialChange.objects.get()
    assert change.page.slug == "records-retention-policy" and change.flagged_count >= 5
    assert KnowledgePage.objects.filter(freshness="needs_review").count() == change.flagged_count
    amendment = ReviewTask.objects.get(kind="amendment")
    assert amendment.page.slug == "records-disposal-procedure" and amendment.reviewer is not None
    assert ReviewTask.objects.filter(kind="cycle").exists()
    assert FreshnessSnapshot.objects.filter(date__in=today.plus()).exists()
    call_command("load_demo", interactive=False, no_index=True, stdout=io.StringIO())
    assert MaterialChange.objects.count() == 1  # loading again changes nothing
