"""Loading one instance by primary key from a query compiled once
(knowledge/compiled.py): the same object the ORM gives, one query a call,
per connection, and the ORM itself where the compiled form cannot be used."""

import threading

import pytest
from django.contrib.sessions.models import Session
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from wagtail.models import Page

from knowledge import compiled
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _nothing_compiled():
    connections["default"].__dict__.pop(compiled._SLOT, None)


def field_values(obj):
    return {field.attname: field.get_prep_value(field.value_from_object(obj)) for field in obj._meta.concrete_fields}


def assert_same_as_orm(model, pk):
    ours = compiled.by_pk(model, pk)
    theirs = model._default_manager.filter(pk=pk).first()
    assert type(ours) is type(theirs) is model
    assert field_values(ours) == field_values(theirs)
    assert ours._state.adding is False and ours._state.db == "default"
    return ours


def test_every_page_type_and_a_user_come_back_as_the_orm_loads_them():
    policy = f.policy("Travel policy", parent=f.section("policies"), topics=[f.topic("travel")])
    procedure = f.procedure("Claim expenses", parent=f.section("procedures"), implements=[policy])
    lesson = f.lesson("Lesson from the audit", parent=f.section("lessons"), cites=[procedure])
    for page in (policy, procedure, lesson, f.home_page(), Page.objects.get(pk=policy.get_parent().pk).specific):
        loaded = assert_same_as_orm(type(page), page.pk)
        assert loaded.url_path == page.url_path and loaded.title == page.title
    loaded = assert_same_as_orm(type(procedure), procedure.pk)
    assert [b.block_type for b in loaded.steps] == [b.block_type for b in procedure.steps]  # a StreamField, converted
    user = f.user("ada", first_name="Ada")
    assert assert_same_as_orm(type(user), user.pk).get_full_name() == "Ada"


def test_one_query_a_call_and_none_for_a_missing_key():
    policy = f.policy("Leave policy", parent=f.section("policies"))
    model = type(policy)
    compiled.by_pk(model, policy.pk)  # compiled on this connection
    with CaptureQueriesContext(connection) as ctx:
        assert compiled.by_pk(model, policy.pk).pk == policy.pk
        assert compiled.by_pk(model, str(policy.pk)).pk == policy.pk  # a key as a URL or a session holds it
        assert compiled.by_pk(model, 10**9) is None
    assert len(ctx.captured_queries) == 3
    assert all("LIMIT" not in q["sql"] and "ORDER BY" not in q["sql"] for q in ctx.captured_queries)


def test_a_key_that_is_not_an_integer_goes_through_the_orm():
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store["x"] = 1
    store.create()
    assert compiled.by_pk(Session, store.session_key).session_key == store.session_key
    assert connections["default"].__dict__[compiled._SLOT][Session] is False
    assert compiled.by_pk(Session, "no-such-session") is None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_each_thread_compiles_on_its_own_connection():
    policy = f.policy("Gifts policy", parent=f.section("policies"))
    model, found, errors = type(policy), [], []

    def load():
        own = connections["default"]  # this thread's
        try:
            found.append(compiled.by_pk(model, policy.pk).title)
            found.append(model in own.__dict__[compiled._SLOT])
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and found == ["Gifts policy", True] * 3
    assert model not in connections["default"].__dict__.get(compiled._SLOT, {})  # this thread compiled nothing
