"""Who follows what.

The rule: a person follows a page directly, through one of its topics,
through its owning unit or any unit above it, through its content type, or
through a saved search whose words match it. Paused subscriptions and
inactive people count for nothing. A person reached several ways is told
once, at the most frequent of their frequencies.
"""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError

from ..models import KnowledgePage, OrgUnit, Subscription, Topic
from ..models.subscriptions import FREQUENCY_RANK, Frequency
from . import registry

Kind = Subscription.Kind


def resolve_target(kind, value):
    """The object a (kind, value) pair from a form names; ValidationError if none."""
    try:
        if kind == Kind.PAGE:
            return {"page": KnowledgePage.objects.get(pk=int(value))}
        if kind == Kind.TOPIC:
            return {"topic": Topic.objects.get(slug=value) if not str(value).isdigit() else Topic.objects.get(pk=value)}
        if kind == Kind.UNIT:
            return {"unit": OrgUnit.objects.get(slug=value) if not str(value).isdigit() else OrgUnit.objects.get(pk=value)}
        if kind == Kind.CONTENT_TYPE:
            ct = ContentType.objects.get(pk=int(value))
            if not issubclass(ct.model_class() or object, KnowledgePage):
                raise ValidationError("Only knowledge content types can be followed.")
            return {"content_type": ct}
        if kind == Kind.SEARCH:
            query = " ".join(str(value).split())[:200]
            if not query:
                raise ValidationError("A saved search needs some words.")
            return {"query": query}
    except (ValueError, TypeError, ObjectDoesNotExist):
        raise ValidationError("There is nothing to follow there.") from None
    raise ValidationError(f"Unknown kind of subscription: {kind!r}.")


def follow(user, kind, value, frequency=Frequency.IMMEDIATE):
    """Follow (or resume following) a target. Returns (subscription, created)."""
    target = resolve_target(kind, value)
    if frequency not in Frequency.values:
        raise ValidationError(f"Unknown frequency: {frequency!r}.")
    key = Subscription.make_key(kind, getattr(next(iter(target.values())), "pk", None), target.get("query", ""))
    sub = Subscription.objects.filter(user=user, target_key=key).first()
    if sub is not None:
        if sub.paused:
            sub.paused = False
            sub.save(update_fields=["paused"])
        return sub, False
    sub = Subscription(user=user, kind=kind, frequency=frequency, **target)
    sub.save()
    return sub, True


def label(sub):
    if sub.kind == Kind.SEARCH:
        return f"Search: “{sub.query}”"
    target = sub.page or sub.topic or sub.unit or sub.content_type
    if sub.kind == Kind.CONTENT_TYPE:
        return f"All {sub.content_type.model_class()._meta.verbose_name_plural}"
    return f"{sub.get_kind_display()}: {target}"


def target_keys_for(page):
    """The subscription keys that reach ``page`` except saved searches."""
    page = page.specific if not isinstance(page, KnowledgePage) else page
    keys = [Subscription.make_key(Kind.PAGE, page.pk), Subscription.make_key(Kind.CONTENT_TYPE, page.content_type_id)]
    # .all(), not values_list: an editor's page comes from a revision, whose
    # topics are modelcluster's in-memory set
    keys += [Subscription.make_key(Kind.TOPIC, t.pk) for t in page.topics.all()]
    if page.unit_id:
        unit = OrgUnit.objects.filter(pk=page.unit_id).first()
        if unit is not None:
            keys += [Subscription.make_key(Kind.UNIT, u.pk) for u in unit.ancestors_and_self()]
    return keys


def matching_search_keys(page):
    queries = set(Subscription.objects.filter(kind=Kind.SEARCH, paused=False).values_list("query", flat=True))
    matched = registry.queries_matching(page.pk, sorted(queries))
    return [Subscription.make_key(Kind.SEARCH, query=q) for q in matched]


def follower_keys(page, with_searches=True):
    """The subscription keys that reach ``page``, matching saved searches included."""
    return target_keys_for(page) + (matching_search_keys(page) if with_searches else [])


def followers(page, with_searches=True):
    """{user id: (frequency, reason key)} of the active followers of ``page``."""
    keys = follower_keys(page, with_searches)
    best = {}
    rows = (Subscription.objects.filter(target_key__in=keys, paused=False, user__is_active=True)
            .values_list("user_id", "frequency", "target_key").order_by("user_id", "pk"))
    for user_id, frequency, key in rows.iterator(chunk_size=5000):
        held = best.get(user_id)
        if held is None or FREQUENCY_RANK[frequency] < FREQUENCY_RANK[held[0]]:
            best[user_id] = (frequency, key)
    return best


def follower_count(page):
    """How many people would be told of a change to ``page`` (not counting
    saved searches, which are matched when the change is published)."""
    return len(followers(page, with_searches=False))
