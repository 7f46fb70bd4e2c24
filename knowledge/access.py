"""Page visibility compiled to tokens: one rule for pages, listings and search.

A page's audience and every view restriction on it or its ancestors are
compiled into a set of *access tokens*; a viewer sees the page when they hold
at least one of them. A viewer's tokens are ``public``, ``auth`` when signed
in, ``group:<id>`` for each group, and ``superuser``.

Combining restrictions is conservative: two group restrictions in one chain
become the intersection of their groups, so a token set never admits anyone
Wagtail itself would refuse. Password-restricted pages admit only superusers
through listings and search (the password form still works at the URL).

This module holds the rules and imports no model of its own app; the
stored tokens, and the filters that read them (``viewable_pages``,
``viewable_ids``, ``without_unviewable``, ``refresh_access``), are in
``models/access.py`` beside ``PageAccessToken``.
"""

import logging

from django.conf import settings
from django.contrib.auth.models import Group
from wagtail.models import PageViewRestriction

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


def staff_unit_id(user):
    """The user's unit, from the staff profile the training app keeps
    (``user.staff_profile``, the reverse accessor: no import of training).
    Without training, or without a profile, the user has no unit here."""
    profile = getattr(user, "staff_profile", None)  # a missing profile raises an AttributeError subclass
    return getattr(profile, "unit_id", None)


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


def user_can_view_page(user, page):
    if not page.live:
        return False
    return bool(user_tokens(user) & set(compile_tokens(page)))
