"""Page visibility compiled to tokens: one rule for pages, listings and search.

A page's audience and every view restriction on it or its ancestors are
compiled into a set of *access tokens*; a viewer sees the page when they hold
at least one of them. A viewer's tokens are ``public``, ``auth`` when signed
in, ``group:<id>`` for each group, and ``superuser``.

Combining restrictions is conservative: two group restrictions in one chain
become the intersection of their groups, so a token set never admits anyone
Wagtail itself would refuse. Password-restricted pages admit only superusers
through listings and search (the password form still works at the URL).
"""

import logging

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from wagtail.models import Page, PageViewRestriction

logger = logging.getLogger("govkm.access")
PUBLIC = "public"
AUTHENTICATED = "auth"
SUPERUSER = "superuser"
RESTRICTED_GROUPS_DEFAULT = ["Restricted readers", "Content owners", "Administrators"]


def restricted_group_names():
    return getattr(settings, "KM_RESTRICTED_AUDIENCE_GROUPS", RESTRICTED_GROUPS_DEFAULT)


def restricted_groups():
    """The groups cleared for restricted content (created if missing, so a
    restricted page is never compiled against groups that do not exist yet)."""
    return [Group.objects.get_or_create(name=name)[0] for name in restricted_group_names()]


def group_token(group_id):
    return f"group:{group_id}"


def user_tokens(user):
    """The tokens a viewer holds."""
    tokens = {PUBLIC}
    if user is not None and user.is_authenticated and user.is_active:
        tokens.add(AUTHENTICATED)
        tokens.update(group_token(pk) for pk in viewer_facts(user)["groups"])
        if user.is_superuser:
            tokens.add(SUPERUSER)
    return tokens


# --- what is known of a signed-in viewer, cached between requests ------------
# Every request of a signed-in user needs their groups (access tokens), whether
# they may open the admin (the header link) and their unit (analytics): five
# queries. They are kept in the cache under the user's id and forgotten by the
# signals below the moment any of them changes through Django (group
# membership, group or user permissions, the user row, the staff profile).
# The expiry bounds what a change made outside Django (raw SQL) could leave.
# ``is_active`` and ``is_superuser`` are read from the user row loaded with
# every request, never from here.
VIEWER_CACHE_SECONDS = 300


def viewer_cache_key(user_pk):
    return f"km:viewer:v1:{user_pk}"


def viewer_facts(user):
    """{"groups": [ids], "admin": bool, "unit_id": id or None} for a signed-in
    ``user``: memoised on the user object for the request, cached between
    requests. A cache that cannot be reached is skipped, never trusted."""
    facts = getattr(user, "_km_viewer_facts", None)
    if facts is not None:
        return facts
    from django.core.cache import cache

    key = viewer_cache_key(user.pk)
    try:
        facts = cache.get(key)
    except Exception:  # cache down: read the database
        facts = None
    if facts is None:
        from .ownership import staff_unit_id

        facts = {
            "groups": sorted(user.groups.values_list("pk", flat=True)),
            "admin": user.has_perm("wagtailadmin.access_admin"),
            "unit_id": staff_unit_id(user),
        }
        try:
            cache.set(key, facts, VIEWER_CACHE_SECONDS)
        except Exception as exc:
            logger.warning("viewer facts not cached (%s)", exc)
    user._km_viewer_facts = facts
    return facts


def forget_viewers(user_pks):
    """Drop what is cached of these users (their groups, rights or unit changed)."""
    from django.core.cache import cache

    keys = [viewer_cache_key(pk) for pk in user_pks]
    if keys:
        try:
            cache.delete_many(keys)
        except Exception as exc:  # an entry that survives expires within VIEWER_CACHE_SECONDS
            logger.warning("could not forget cached viewer facts for %s (%s)", user_pks, exc)


def _requirement(restriction):
    if restriction.restriction_type == PageViewRestriction.LOGIN:
        return {AUTHENTICATED}
    if restriction.restriction_type == PageViewRestriction.GROUPS:
        return {group_token(pk) for pk in restriction.groups.values_list("pk", flat=True)}
    return set()  # password: nobody through listings or search


def _combine(current, requirement):
    """AND two requirements, each a set of alternative tokens."""
    if current is None:
        return set(requirement)
    if current == {AUTHENTICATED}:
        return set(requirement)
    if requirement == {AUTHENTICATED}:
        return current
    return current & requirement


def compile_tokens(page):
    """The access tokens of ``page`` (a Page or any specific subclass)."""
    requirement = None
    audience = getattr(page.specific_deferred, "audience", "public")
    if audience == "internal":
        requirement = {AUTHENTICATED}
    elif audience == "restricted":
        requirement = {group_token(g.pk) for g in restricted_groups()}
    for restriction in page.get_view_restrictions():
        requirement = _combine(requirement, _requirement(restriction))
    tokens = {PUBLIC} if requirement is None else set(requirement)
    tokens.add(SUPERUSER)
    return sorted(tokens)


@transaction.atomic
def refresh_access(page):
    """Recompute and store the tokens of ``page`` and of every page below it."""
    from . import fragments
    from .models import PageAccessToken

    pages = list(Page.objects.descendant_of(page, inclusive=True))
    stored = PageAccessToken.objects.filter(page__in=pages)
    before = set(stored.values_list("page_id", "token"))
    after = {(p.pk, t) for p in pages for t in compile_tokens(p)}
    if before != after:
        stored.delete()
        PageAccessToken.objects.bulk_create([PageAccessToken(page_id=pk, token=t) for pk, t in sorted(after)])
        fragments.site_changed()  # cached page bodies list pages by who may see them
    return [p.pk for p in pages]


def sync_audience_restriction(page):
    """Give an internal or restricted page the Wagtail view restriction that
    enforces its audience at its URL too (Wagtail checks it when serving)."""
    audience = getattr(page, "audience", None)
    managed = PageViewRestriction.objects.filter(page=page)
    if audience == "internal":
        if not managed.exists():
            PageViewRestriction.objects.create(page=page, restriction_type=PageViewRestriction.LOGIN)
    elif audience == "restricted":
        groups = restricted_groups()
        restriction = managed.filter(restriction_type=PageViewRestriction.GROUPS).first()
        if restriction is None:
            managed.filter(restriction_type=PageViewRestriction.LOGIN).delete()
            restriction = PageViewRestriction.objects.create(
                page=page, restriction_type=PageViewRestriction.GROUPS
            )
        restriction.groups.add(*groups)
    elif audience == "public":
        managed.filter(restriction_type=PageViewRestriction.LOGIN).delete()


SECTION_DEPTH = 3  # root 1, a site's home page 2, its sections 3


def restricted_section_paths():
    """Tree paths of the home pages and sections that carry a group view
    restriction: everything below them is a restricted section."""
    return list(
        PageViewRestriction.objects.filter(
            restriction_type=PageViewRestriction.GROUPS, page__depth__lte=SECTION_DEPTH
        ).values_list("page__path", flat=True)
    )


def in_restricted_section(page):
    """Whether ``page`` is, or is below, a restricted section."""
    return any(page.path.startswith(path) for path in restricted_section_paths())


def viewable_pages(queryset, user):
    """Filter a page queryset to what ``user`` may view, with one clause."""
    from .models import PageAccessToken

    return queryset.filter(
        pk__in=PageAccessToken.objects.filter(token__in=user_tokens(user)).values("page_id")
    )


def viewable_ids(user, pages):
    """The ids of those ``pages`` that ``user`` may view: live, and holding
    one of the viewer's access tokens as stored. One query for all of them.

    This is the rule for every place a page *names* another page (citations
    both ways, the policy a page supersedes or is superseded by, a chain of
    versions, a lesson's amendment target, a freshness flag): a title or
    link is shown only for an id in this set."""
    from .models import PageAccessToken

    pages = [p for p in pages if p is not None]
    if not pages:
        return set()
    allowed = set(
        PageAccessToken.objects.filter(
            page_id__in={page.pk for page in pages}, token__in=user_tokens(user)
        ).values_list("page_id", flat=True)
    )
    return {page.pk for page in pages if page.pk in allowed and page.live}


def without_unviewable(queryset, user):
    """``queryset`` less the pages whose stored tokens ``user`` holds none
    of (pages with no stored tokens, such as the tree's root, stay): for
    navigation and choosers, which list structural pages too."""
    from .models import PageAccessToken

    readable = PageAccessToken.objects.filter(token__in=user_tokens(user)).values("page_id")
    return queryset.exclude(pk__in=PageAccessToken.objects.exclude(page_id__in=readable).values("page_id"))


def user_can_view_page(user, page):
    if not page.live:
        return False
    return bool(user_tokens(user) & set(compile_tokens(page)))
