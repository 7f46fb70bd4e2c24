"""Django's model backend, with the signed-in user loaded by a compiled query.

Every request of a signed-in visitor loads their user row (Django's
``auth.get_user``, through the session's backend). ``ModelBackend.get_user``
builds that query with the ORM each time; this backend runs it from the
form compiled once per connection (``knowledge/compiled.py``), which returns
the same instance. Nothing is cached between requests: a deactivated user or
a changed password (the session hash) takes effect on the next request, as
with Django's backend. Signing in (``authenticate``) is Django's, unchanged.

Sessions record the backend that signed them in, and Django refuses a
backend no longer listed in ``AUTHENTICATION_BACKENDS``: sessions opened
under ``django.contrib.auth.backends.ModelBackend`` before this backend
existed end once, and their visitors sign in again.

With single sign-on configured, passwords are for break-glass only
(``kmsite.sso.policy``): a password neither signs in nor keeps signed in
anyone else.
"""

from django.contrib.auth import backends, get_user_model

from kmsite.sso.policy import password_sign_in_allowed
from knowledge.compiled import by_pk


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id):
        user = by_pk(get_user_model(), user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and password_sign_in_allowed(user)
