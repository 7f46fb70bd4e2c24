"""Who answers for a unit, resolved in bulk: content leads and managers,
walking up the unit tree when a unit has none (or theirs has left)."""

from django.contrib.auth import get_user_model

from .models import OrgUnit


class UnitDirectory:
    """Every unit's parent, content lead and manager, read in two queries."""

    def __init__(self):
        rows = list(OrgUnit.objects.values_list("pk", "parent_id", "content_lead_id", "manager_id"))
        self.parent = {pk: parent for pk, parent, _, _ in rows}
        self.lead_of = {pk: lead for pk, _, lead, _ in rows}
        self.manager_of = {pk: manager for pk, _, _, manager in rows}
        people = {u for _, _, lead, manager in rows for u in (lead, manager) if u}
        self.active = set(get_user_model().objects.filter(pk__in=people, is_active=True).values_list("pk", flat=True))

    def _walk(self, unit_id):
        seen = set()
        while unit_id is not None and unit_id not in seen:
            seen.add(unit_id)
            yield unit_id
            unit_id = self.parent.get(unit_id)

    def lead(self, unit_id, exclude=None):
        for uid in self._walk(unit_id):
            lead = self.lead_of.get(uid)
            if lead and lead in self.active and lead != exclude:
                return lead
        return None

    def manager(self, unit_id, exclude=None):
        for uid in self._walk(unit_id):
            manager = self.manager_of.get(uid)
            if manager and manager in self.active and manager != exclude:
                return manager
        return None

    def descendants(self, unit_id):
        """``unit_id`` and every unit below it."""
        children = {}
        for pk, parent in self.parent.items():
            children.setdefault(parent, []).append(pk)
        found, frontier = {unit_id}, [unit_id]
        while frontier:
            frontier = [c for p in frontier for c in children.get(p, []) if c not in found]
            found.update(frontier)
        return found


def active_user_ids(ids):
    ids = {i for i in ids if i}
    if not ids:
        return set()
    return set(get_user_model().objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True))


def reviewers_for(rows, directory=None):
    """{page id: reviewer user id or None} for rows of (page id, owner id,
    unit id): the owner when active, else the unit's content lead."""
    rows = list(rows)
    directory = directory or UnitDirectory()
    active = active_user_ids(owner for _, owner, _ in rows)
    return {pk: owner if owner in active else directory.lead(unit) for pk, owner, unit in rows}
