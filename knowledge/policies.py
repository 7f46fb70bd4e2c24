"""Legal effect of policies: what was in force on a date, and supersession chains.

Effect is distinct from publication. A policy is in force on day X when it
is not a draft, its effective-from date is on or before X, and it had not
ended by X. It ends on its effective-to date when one is given; otherwise
the day before a successor (a live policy that ``supersedes`` it) took
effect. A superseded or rescinded policy with neither an effective-to date
nor a dated successor has no known end, so it is not reported as in force
on any date: give it an effective-to date to answer for it.

The rules take the policies (a queryset, a page) as arguments and import
no model: the page models use them (``models/pages.py``).
"""

import datetime
from dataclasses import dataclass

from django.db import models
from django.db.models import Exists, OuterRef, Q


class PolicyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_FORCE = "in_force", "In force"
    SUPERSEDED = "superseded", "Superseded"
    RESCINDED = "rescinded", "Rescinded"


def in_force_on(day, queryset):
    """Policies (live, from ``queryset`` of ``PolicyPage``) in force on ``day``."""
    successors = queryset.model.objects.live().exclude(status=PolicyStatus.DRAFT).filter(supersedes=OuterRef("pk"))
    started = successors.filter(effective_date__isnull=False, effective_date__lte=day)
    dated = successors.filter(effective_date__isnull=False)
    return (
        queryset.exclude(status=PolicyStatus.DRAFT)
        .filter(effective_date__isnull=False, effective_date__lte=day)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=day))
        .exclude(Exists(started))
        .exclude(
            Q(status__in=[PolicyStatus.SUPERSEDED, PolicyStatus.RESCINDED], effective_to__isnull=True)
            & ~Exists(dated)
        )
    )


_UNKNOWN = object()


def end_date(policy, successor=_UNKNOWN):
    """The last day ``policy`` was (or will be) in force, or None if
    open-ended or unknown. ``successor``: its ``successor_of``, where the
    caller has already looked it up."""
    if policy.effective_to:
        return policy.effective_to
    if successor is _UNKNOWN:
        successor = successor_of(policy)
    if successor is not None and successor.effective_date:
        return successor.effective_date - datetime.timedelta(days=1)
    return None


def successor_of(policy):
    return (
        policy.superseded_by_set.live().exclude(status=PolicyStatus.DRAFT)
        .order_by("effective_date", "pk").first()
    )


@dataclass
class ChainLink:
    policy: object
    start: datetime.date | None
    end: datetime.date | None
    is_current_page: bool

    def covers(self, day):
        return self.start is not None and self.start <= day and (self.end is None or day <= self.end)


def supersession_chain(policy, limit=50):
    """The policies ``policy`` replaced and was replaced by, oldest first,
    with the dates each was in force. Safe on a (mistaken) cycle."""
    seen = {policy.pk}
    older, node = [], policy.supersedes
    while node is not None and node.pk not in seen and len(older) < limit:
        seen.add(node.pk)
        older.append(node.specific)
        node = node.supersedes
    successors = {}  # pk -> successor_of(that policy), looked up once for the walk and the end dates
    newer, node = [], successor_of(policy)
    successors[policy.pk] = node
    while node is not None and node.pk not in seen and len(newer) < limit:
        seen.add(node.pk)
        newer.append(node)
        successors[node.pk] = successor_of(node)
        node = successors[node.pk]
    pages = list(reversed(older)) + [policy] + newer
    return [ChainLink(p, p.effective_date if p.status != "draft" else None, end_date(p, successors.get(p.pk, _UNKNOWN)),
                      p.pk == policy.pk)
            for p in pages]


def parse_day(value, default=None):
    """A YYYY-MM-DD query parameter as a date; ``ValueError`` if malformed."""
    if not value:
        return default
    return datetime.date.fromisoformat(value.strip()[:10])
