"""Issue 21, finding 4: a document is served only to visitors who may view
every page that uses it (attached or linked), checked on each request, so a
page made restricted takes its documents with it. Before the fix a document
attached to a restricted procedure was served to anyone."""

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from wagtail.documents.models import Document

from knowledge.models import PageAttachment
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _document(title="Informant register"):
    doc = Document(title=title)
    doc.file.save("register.pdf", ContentFile(b"%PDF-1.4 secret register"), save=False)
    doc.save()
    return doc


def _attach(page, doc):
    PageAttachment.objects.create(page=page, document=doc)


def _as(role):
    c = Client()
    if role:
        c.force_login(f.user(f"doc-{role}", role))
    return c


def _status(client, doc):
    response = client.get(doc.url)
    if response.status_code == 200:
        assert b"secret register" in b"".join(response.streaming_content)
    return response.status_code


def test_documents_are_served_through_the_checking_view(settings):
    from django.conf import settings as live

    assert live.WAGTAILDOCS_SERVE_METHOD == "serve_view"


def test_a_restricted_procedures_attachment_per_role():
    doc = _document()
    _attach(f.procedure("Handle an informant", audience="restricted"), doc)
    anonymous = Client().get(doc.url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/?next=")
    assert _status(_as("civil_servant"), doc) == 404
    assert _status(_as("editor"), doc) == 404
    assert _status(_as("hr"), doc) == 404
    assert _status(_as("content_owner"), doc) == 200  # cleared: content owners are restricted readers
    assert _status(_as("administrator"), doc) == 200


def test_a_public_pages_attachment_is_public_until_the_page_is_restricted():
    doc = _document("Expenses form")
    page = f.procedure("Claim expenses")
    _attach(page, doc)
    assert _status(Client(), doc) == 200
    page = page.get_latest_revision_as_object()
    page.audience = "restricted"
    page.save_revision().publish()
    assert _status(Client(), doc) == 302
    assert _status(_as("civil_servant"), doc) == 404
    assert _status(_as("content_owner"), doc) == 200


def test_a_document_linked_from_a_restricted_body(django_capture_on_commit_callbacks):
    doc = _document("Linked register")
    with django_capture_on_commit_callbacks(execute=True):
        f.policy("Covert sources", audience="restricted",
                 body=f'See the <a linktype="document" id="{doc.pk}">register</a>.')
    assert _status(Client(), doc) == 302
    assert _status(_as("content_owner"), doc) == 200


def test_a_document_on_a_public_and_a_restricted_page_follows_the_stricter():
    doc = _document("Shared annex")
    _attach(f.procedure("Public procedure"), doc)
    _attach(f.procedure("Restricted procedure", audience="restricted"), doc)
    assert _status(Client(), doc) == 302
    assert _status(_as("content_owner"), doc) == 200


def test_an_unused_document_follows_its_collection():
    doc = _document("Unused")
    assert _status(Client(), doc) == 200
