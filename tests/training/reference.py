"""The "Learn this" rule stated as one query per page: the reference that
training/teaching.py's map, and the per-page fallback, are checked against."""

from django.db.models import Q


def modules_teaching(page, limit=5):
    """Live modules that use the page in an activity or develop a competence
    the page is tagged with; modules using the page directly come first."""
    from training.models import Module

    if page is None or not getattr(page, "pk", None):
        return []
    direct = Q(activities__page_id=page.pk)
    tagged = Q(competences__competence__page_links__page_id=page.pk)
    modules = (
        Module.objects.filter(direct | tagged)
        .filter(Q(curriculum__isnull=True) | Q(curriculum__live=True))
        .select_related("curriculum")
        .distinct()
    )
    uses = set(Module.objects.filter(direct).values_list("pk", flat=True))
    return sorted(modules, key=lambda m: (m.pk not in uses, m.title))[:limit]
