"""Helpers for the knowledge tests: set review dates without revisions,
publish material changes as an editor would, stand in for a cache that
cannot be reached."""

import datetime

import pytest
from django.utils import timezone

from knowledge.models import Citation, KnowledgePage


def set_fields(page, **fields):
    """Change stored fields directly (test set-up, no new revision)."""
    KnowledgePage.objects.filter(pk=page.pk).update(**fields)
    page.refresh_from_db()
    return page


def cite(page, *targets, relation="references"):
    """Add citations to the stored page (as its live version would have)."""
    for target in targets:
        Citation.objects.create(page=page, target=target, relation=relation)
    return page


def publish_change(page, summary="", material=True, user=None, **changes):
    """Publish a new revision of ``page``; ``material`` ticks "material change"."""
    draft = page.specific.get_latest_revision_as_object()
    for name, value in changes.items():
        setattr(draft, name, value)
    draft.material_change, draft.change_summary = material, summary
    revision = draft.save_revision(user=user)
    revision.publish(user=user)
    return revision


def days_ago(n):
    return timezone.localdate() - datetime.timedelta(days=n)


@pytest.fixture
def today():
    return timezone.localdate()


class UnreachableCache:
    """A cache every call to which fails, as Django's Redis cache does when
    Redis is down."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("cache down")

        return fail
