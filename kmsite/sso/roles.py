"""GovKM groups from the identity provider's groups.

The mapping is the union of ``KM_OIDC_GROUP_MAP`` (settings) and the group
mappings administrators keep in the admin. A GovKM group is *managed* when
some mapping leads to it; at every sign-in and session refresh a user's
managed groups become exactly those their IdP groups map to. Groups no
mapping leads to (handed out in the admin) are never touched, and neither
are ``is_superuser`` and ``is_staff``.
"""

import logging

from django.contrib.auth.models import Group

from .conf import config
from .models import GroupMapping

logger = logging.getLogger("govkm.sso")


def mapping():
    """{IdP group: {GovKM group name, ...}} from settings and the admin."""
    result = config().group_map
    for idp_group, name in GroupMapping.objects.values_list("idp_group", "group__name"):
        result.setdefault(idp_group, set()).add(name)
    return result


def idp_groups(claims):
    """The IdP groups in ``claims``: a list of strings, or one string."""
    value = claims.get(config().CLAIM_GROUPS)
    if value is None:
        if "groups" in (claims.get("_claim_names") or {}) or claims.get("hasgroups"):
            logger.warning("the provider left the groups out of the token for subject %s (too many groups; "
                           "docs/sso.md, 'Entra ID'): their managed GovKM groups are removed", claims.get("sub"))
        return set()
    if isinstance(value, str):
        return {value}
    return {str(v) for v in value if isinstance(v, str | int)}


def apply_roles(user, groups):
    """Make ``user``'s managed groups those ``groups`` (IdP groups) map to.
    Returns (added, removed) group names. Membership changes go through
    the ORM, so the viewer cache and access tokens follow at once
    (knowledge/signal_handlers.py)."""
    rules = mapping()
    managed_names = set().union(*rules.values()) if rules else set()
    wanted_names = set().union(*(rules[g] for g in groups if g in rules)) if groups else set()
    managed = {g.name: g for g in Group.objects.filter(name__in=managed_names)}
    for missing in sorted(managed_names - set(managed)):
        logger.warning("group mapping names GovKM group %r, which does not exist", missing)
    held = set(user.groups.filter(name__in=managed).values_list("name", flat=True))
    add = sorted((wanted_names & set(managed)) - held)
    remove = sorted(held - wanted_names)
    if add:
        user.groups.add(*[managed[n] for n in add])
    if remove:
        user.groups.remove(*[managed[n] for n in remove])
    return add, remove
