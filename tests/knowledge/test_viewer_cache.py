"""What is cached of a signed-in viewer (groups, admin right, unit) changes
the moment their rights change, whichever way the change is made."""

import pytest
from django.contrib.auth.models import Group, Permission

from knowledge.access import viewer_facts
from tests import factories as f

pytestmark = pytest.mark.django_db

SECRET = "Investigate a suspicious gift"


@pytest.fixture
def secret_page(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return f.procedure(SECRET, steps=("Investigators interview the gift giver.",), audience="restricted")


@pytest.fixture
def readers():
    f.user("setup-roles")  # creates the role groups
    return Group.objects.get(name="Restricted readers")


def sees_secret(client, user):
    client.force_login(user)
    found = SECRET in client.get("/api/search/", {"q": "gift investigators", "mode": "lexical"}).content.decode()
    page = client.get("/search/", {"q": "gift investigators"}).content.decode()
    assert (SECRET in page) == found  # HTML and API agree
    return found


@pytest.mark.parametrize("how", ["user.groups", "group.user_set"])
def test_joining_and_leaving_a_group_applies_at_once(client, secret_page, readers, how):
    civil = f.user("vc-civil")
    relation, other = (civil.groups, readers) if how == "user.groups" else (readers.user_set, civil)
    assert not sees_secret(client, civil)  # facts now cached without the group
    relation.add(other)
    assert sees_secret(client, civil)
    relation.remove(other)
    assert not sees_secret(client, civil)


def test_clearing_or_deleting_a_group_applies_at_once(client, secret_page, readers):
    civil = f.user("vc-civil2")
    civil.groups.add(readers)
    assert sees_secret(client, civil)
    readers.user_set.clear()
    assert not sees_secret(client, civil)

    readers.user_set.add(civil)
    assert sees_secret(client, civil)
    readers.delete()
    assert not sees_secret(client, civil)


def test_a_deactivated_account_sees_public_pages_only(client, secret_page, readers):
    civil = f.user("vc-civil3")
    civil.groups.add(readers)
    assert sees_secret(client, civil)
    civil.is_active = False
    civil.save()
    from knowledge.access import user_tokens

    civil.refresh_from_db()
    assert user_tokens(civil) == {"public"}


def test_the_admin_link_follows_group_permissions(client, readers):
    civil = f.user("vc-civil4")
    client.force_login(civil)
    assert 'href="/admin/"' not in client.get("/search/", {"q": "x"}).content.decode()
    access_admin = Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    readers.permissions.add(access_admin)
    civil.groups.add(readers)
    assert 'href="/admin/"' in client.get("/search/", {"q": "x"}).content.decode()
    readers.permissions.remove(access_admin)
    assert 'href="/admin/"' not in client.get("/search/", {"q": "x"}).content.decode()


def test_facts_are_read_once_per_request_and_then_from_the_cache(django_assert_num_queries, readers):
    civil = f.user("vc-civil5")
    civil.groups.add(readers)
    fresh = type(civil).objects.get(pk=civil.pk)
    with django_assert_num_queries(4):  # groups, two permission reads, staff profile
        assert readers.pk in viewer_facts(fresh)["groups"]
    again = type(civil).objects.get(pk=civil.pk)
    with django_assert_num_queries(0):
        assert readers.pk in viewer_facts(again)["groups"]


def test_an_unreachable_cache_falls_back_to_the_database(client, secret_page, readers, settings):
    civil = f.user("vc-civil6")
    civil.groups.add(readers)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    from django.core.cache import cache

    fresh = type(civil).objects.get(pk=civil.pk)
    assert readers.pk in viewer_facts(fresh)["groups"]
    from redis.exceptions import ConnectionError as RedisConnectionError

    with pytest.raises(RedisConnectionError):  # the cache really is unreachable
        cache.get("anything")


def test_clearing_a_permission_from_its_side_applies_at_once(client, readers):
    """permission.group_set.clear() and permission.user_set.clear() reach
    the users concerned, as the forward side does."""
    civil = f.user("vc-civil7")
    access_admin = Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    readers.permissions.add(access_admin)
    civil.groups.add(readers)
    client.force_login(civil)
    assert 'href="/admin/"' in client.get("/search/", {"q": "x"}).content.decode()
    access_admin.group_set.clear()
    assert 'href="/admin/"' not in client.get("/search/", {"q": "x"}).content.decode()
    civil.user_permissions.add(access_admin)
    assert 'href="/admin/"' in client.get("/search/", {"q": "x"}).content.decode()
    access_admin.user_set.clear()
    assert 'href="/admin/"' not in client.get("/search/", {"q": "x"}).content.decode()
