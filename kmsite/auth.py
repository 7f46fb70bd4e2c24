"""Django's model backend, with GovKM's sign-in policy.

The signed-in user of each request is loaded by Django's own
``ModelBackend.get_user`` (one query by primary key), so nothing is kept
between requests: a deactivated user or a changed password (the session
hash) takes effect on the next request. Signing in (``authenticate``) is
Django's, unchanged.

Sessions record the backend that signed them in, and Django refuses a
backend no longer listed in ``AUTHENTICATION_BACKENDS``: sessions opened
under ``django.contrib.auth.backends.ModelBackend`` before this backend
existed end once, and their visitors sign in again.

With single sign-on configured, passwords are for break-glass only
(``kmsite.sso.policy``): a password neither signs in nor keeps signed in
anyone else.
"""

from django.contrib.auth import backends

from kmsite.sso.policy import password_sign_in_allowed


class ModelBackend(backends.ModelBackend):
    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and password_sign_in_allowed(user)
