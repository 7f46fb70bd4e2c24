"""Store every live page's review due date and freshness state, as the
nightly sweep would, so that listings and reports are right from the
moment this release is deployed (no re-indexing needed: search already
computed each page's freshness from its dates when it indexed it)."""

from django.db import migrations
from django.db.models import Q

DEFAULT_INTERVALS = {"policypage": 12, "procedurepage": 6, "lessonlearnedpage": 24}


def initialise(apps, schema_editor):
    from django.utils import timezone

    from knowledge.freshness import compute_state, review_due_date

    KnowledgePage = apps.get_model("knowledge", "KnowledgePage")
    PolicyPage = apps.get_model("knowledge", "PolicyPage")
    ContentType = apps.get_model("contenttypes", "ContentType")
    today = timezone.localdate()
    models = dict(ContentType.objects.filter(app_label="knowledge").values_list("pk", "model"))
    statuses = dict(PolicyPage.objects.exclude(status="in_force").values_list("pk", "status"))
    superseded = set(
        PolicyPage.objects.filter(live=True, status="in_force", effective_date__lte=today)
        .filter(~Q(supersedes=None)).values_list("supersedes_id", flat=True)
    )
    groups = {}
    rows = KnowledgePage.objects.filter(live=True).values_list(
        "pk", "content_type_id", "review_interval_months", "last_reviewed_at", "first_published_at")
    for pk, ct, interval, reviewed, first in rows.iterator(chunk_size=2000):
        due = review_due_date(reviewed, first, interval or DEFAULT_INTERVALS.get(models.get(ct), 12))
        state = compute_state(due=due, today=today, status=statuses.get(pk), superseded=pk in superseded)
        groups.setdefault((state, due), []).append(pk)
    for (state, due), ids in groups.items():
        for i in range(0, len(ids), 500):
            KnowledgePage.objects.filter(pk__in=ids[i:i + 500]).update(freshness=state, review_due=due)


class Migration(migrations.Migration):

    dependencies = [
        ("knowledge", "0002_freshness"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(initialise, migrations.RunPython.noop)]
