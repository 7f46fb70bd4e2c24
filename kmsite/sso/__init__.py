"""Single sign-on through the organisation's identity provider (OpenID Connect).

On mozilla-django-oidc (authorization code flow with PKCE, silent
re-authentication with ``prompt=none``), with what GovKM adds to it:

- ``conf``: the ``KM_SSO`` settings as a typed object, checked at start-up;
- ``discovery``: the provider's endpoints from its discovery document;
- ``tokens``: every check of an ID token (signature, issuer, audience, times,
  nonce), each failure a named ``Refusal``;
- ``provisioning`` and ``roles``: accounts keyed on (issuer, subject), their
  name, email and unit, and their GovKM groups from the IdP's groups;
- ``backend``, ``views``, ``middleware``, ``logout``: the Django glue.

Nothing here runs while ``KM_OIDC_ISSUER`` is unset. ``knowledge`` never
imports this package. See docs/sso.md.
"""
