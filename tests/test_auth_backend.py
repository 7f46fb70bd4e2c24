"""The signed-in user (kmsite/auth.py): the same user Django's backend
loads, one query, and revocation at the next request."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend as DjangosBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kmsite.auth import ModelBackend
from tests import factories as f

pytestmark = pytest.mark.django_db


def signed_in(client):
    return "Signed in as" in client.get("/search/", HTTP_HOST="localhost").content.decode()


def test_loads_the_user_djangos_backend_loads_in_one_query():
    user = f.user("grace", first_name="Grace", last_name="Hopper")
    with CaptureQueriesContext(connection) as ctx:
        ours = ModelBackend().get_user(user.pk)
    assert len(ctx.captured_queries) == 1 and '"auth_user"' in ctx.captured_queries[0]["sql"]
    theirs = DjangosBackend().get_user(user.pk)
    assert ours == theirs and ours.get_full_name() == "Grace Hopper"
    assert {f.attname: f.value_from_object(ours) for f in ours._meta.concrete_fields} == \
        {f.attname: f.value_from_object(theirs) for f in theirs._meta.concrete_fields}
    assert ModelBackend().get_user(10**9) is None


def test_signing_in_records_this_backend_and_a_deactivated_user_is_out_at_once(client):
    user = f.user("ada")
    user.set_password("correct horse battery staple")
    user.save()
    assert client.login(username="ada", password="correct horse battery staple")
    assert client.session[BACKEND_SESSION_KEY] == "kmsite.auth.ModelBackend"
    assert signed_in(client)
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)  # a bulk update: no signal
    assert not signed_in(client)


def test_a_changed_password_ends_other_sessions(client):
    user = f.user("alan")
    client.force_login(user)
    assert signed_in(client)
    user.set_password("a new password 8d1e")
    user.save()
    assert not signed_in(client)


def test_a_wrong_password_is_refused_and_the_right_one_accepted(client):
    user = f.user("edsger")
    user.set_password("right one")
    user.save()
    assert not client.login(username="edsger", password="wrong one")
    assert client.login(username="edsger", password="right one")
