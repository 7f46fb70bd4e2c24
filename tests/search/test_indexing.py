"""The indexing pipeline: signals, ordering by revision, hashes, attachments,
failures and the outbox."""

import io

import pytest
from django.core.files.base import ContentFile
from django.http import QueryDict
from wagtail.documents.models import Document
from wagtail.models import PageViewRestriction

from knowledge.models import PageAttachment
from search.backends import get_search_backend
from search.backends.base import SITE_NAMESPACE
from search.indexing import build_chunks, index_page
from search.models import IndexedPage, IndexOutbox
from search.service import SearchService, parse_request
from tests import factories as f

pytestmark = pytest.mark.django_db


def find(q, user=None, **params):
    query = QueryDict(mutable=True)
    query.update({"q": q, **params})
    return SearchService().search(parse_request(query), user)


def titles(q, user=None, **params):
    return [r.title for r in find(q, user, **params).results]


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run what would happen at commit (enqueueing indexing) at block exit."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_publishing_indexes_and_unpublishing_removes(commit):
    with commit():
        page = f.policy("Asbestos survey policy", body="Surveys are required before any refurbishment.")
    assert titles("asbestos refurbishment") == ["Asbestos survey policy"]
    assert not IndexOutbox.objects.exists()  # the task cleared its outbox row
    with commit():
        page.unpublish()
    assert titles("asbestos refurbishment") == []
    assert IndexedPage.objects.get(page_id=page.pk).state == "removed"


def test_republishing_replaces_the_old_wording(commit):
    with commit():
        page = f.policy("Telephone policy", body="Use the fax machine for urgent approvals.")
    page.body = [("paragraph", __import__("wagtail.rich_text", fromlist=["RichText"]).RichText("<p>Use the secure messaging app.</p>"))]
    with commit():
        page.save_revision().publish()
    assert titles("fax", mode="lexical") == []
    assert titles("secure messaging", mode="lexical") == ["Telephone policy"]


def test_deleting_and_moving_pages(commit):
    with commit():
        page = f.procedure("Shred confidential waste")
    other_section = f.section("archive")
    with commit():
        page.move(other_section, pos="last-child")
    result = find("shred confidential waste").results[0]
    assert result.url.startswith("/archive/")
    with commit():
        page.delete()
    assert titles("shred confidential waste") == []


def test_view_restriction_change_reaches_the_index(commit):
    civil = f.user("c1", "civil_servant")
    with commit():
        page = f.policy("Budget planning guidance", body="Departments submit budget bids in March.")
    assert titles("budget bids", civil) == ["Budget planning guidance"]
    owners = f.user("o1", "content_owner").groups.get(name="Content owners")
    with commit():
        restriction = PageViewRestriction.objects.create(page=page, restriction_type="groups")
        restriction.groups.add(owners)
    assert titles("budget bids", civil) == []
    assert titles("budget bids") == []
    assert titles("budget bids", f.user("o2", "content_owner")) == ["Budget planning guidance"]


def test_an_older_revision_never_overwrites_a_newer_one(commit):
    with commit():
        page = f.policy("Leave policy", body="Twenty days of leave.")
    first_revision = page.live_revision_id
    page.title = "Leave policy (2026)"
    with commit():
        page.save_revision().publish()
    assert index_page(page.pk, revision_id=first_revision) == "skipped"
    assert titles("leave") == ["Leave policy (2026)"]
    page.refresh_from_db()
    assert IndexedPage.objects.get(page_id=page.pk).revision_id == page.live_revision_id


def test_unchanged_chunks_are_not_embedded_again(commit):
    with commit():
        page = f.policy("Procurement thresholds", body="Open tender above 140,000 euros.")
    records, _, embedded = build_chunks(page.specific)
    assert embedded == 0 and records


def minimal_pdf(text):
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for n, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{n} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def docx_bytes(text):
    import docx

    d = docx.Document()
    d.add_paragraph(text)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def odt_bytes(text):
    from odf import text as odftext
    from odf.opendocument import OpenDocumentText

    doc = OpenDocumentText()
    doc.text.addElement(odftext.P(text=text))
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def attach(page, name, data, title):
    doc = Document.objects.create(title=title, file=ContentFile(data, name=name))
    page.attachments.add(PageAttachment(document=doc))  # as the page editor's inline panel does
    return doc


def test_attachments_are_indexed_and_unreadable_files_reported(commit, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    with commit():
        page = f.policy("Vehicle policy", audience="internal")
    attach(page, "fleet.pdf", minimal_pdf("Pool cars are booked through the fleet desk"), "Fleet rules")
    attach(page, "mileage.docx", docx_bytes("Mileage is reimbursed at forty cents per kilometre"), "Mileage")
    attach(page, "parking.odt", odt_bytes("Parking permits are renewed every January"), "Parking")
    attach(page, "broken.pdf", b"%PDF-1.4 this is not really a pdf", "Broken file")
    with commit():
        page.save_revision().publish()
    civil = f.user("c9", "civil_servant")
    for q in ("fleet desk pool cars", "mileage kilometre", "parking permits January"):
        assert titles(q, civil, mode="lexical") == ["Vehicle policy"], q
    assert titles("mileage kilometre") == []  # attachments inherit the page's audience
    state = IndexedPage.objects.get(page_id=page.pk)
    assert state.state == "indexed"
    assert len(state.warnings) == 1 and "Broken file" in state.warnings[0]


def test_failing_page_is_retried_then_reported(monkeypatch, client, settings):
    from search import tasks

    settings.CELERY_TASK_EAGER_PROPAGATES = False
    page = f.policy("Policy that breaks the indexer")

    def boom(*args, **kwargs):
        raise RuntimeError("embedding service exploded")

    monkeypatch.setattr(tasks, "index_page", boom)
    result = tasks.index_page_task.apply(args=[page.pk])
    assert result.failed()
    state = IndexedPage.objects.get(page_id=page.pk)
    assert state.state == "failed" and "exploded" in state.last_error
    assert state.attempts == tasks.MAX_RETRIES + 1
    client.force_login(f.user("admin1", "administrator"))
    html = client.get("/admin/reports/search-index/").content.decode()
    assert "Policy that breaks the indexer" in html and "exploded" in html
    client.force_login(f.user("civ1", "civil_servant"))
    assert client.get("/admin/reports/search-index/").status_code in (302, 403)


def test_broker_down_keeps_the_work_in_the_outbox(settings, commit):
    """Publishing succeeds with no broker; the periodic drain catches up."""
    from search.tasks import drain_outbox

    settings.CELERY_TASK_ALWAYS_EAGER = False
    from kmsite.celery import app
    from tests.conftest import reset_celery_pools

    old_url = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    reset_celery_pools(app)
    try:
        with commit():
            page = f.policy("Policy published while the broker is down", body="Kept in the outbox.")
    finally:
        app.conf.broker_url = old_url
        reset_celery_pools(app)
    assert page.live
    assert IndexOutbox.objects.filter(page_id=page.pk).exists()
    assert titles("kept in the outbox") == []
    assert drain_outbox(older_than_seconds=0) >= 1
    assert not IndexOutbox.objects.filter(page_id=page.pk).exists()
    assert titles("kept in the outbox") == ["Policy published while the broker is down"]


def test_reindex_command_rebuilds_and_reports(commit, capsys):
    from django.core.management import call_command

    with commit():
        f.policy("Policy one", body="Alpha rules.")
        f.procedure("Procedure two")
    backend = get_search_backend()
    out = io.StringIO()
    call_command("search_reindex", interactive=False, stdout=out)
    assert "Indexed 2 pages" in out.getvalue()
    assert "Indexing pages [" in out.getvalue()  # progress
    assert backend.count(SITE_NAMESPACE)[0] == 2


def test_a_failed_primary_write_keeps_the_local_copy_and_retries(commit):
    """A backend with a local fallback (Elasticsearch) that wrote the fallback
    but not the engine: the local copy is committed, the task sees an error."""
    from search.backends.base import PrimaryWriteFailed
    from search.backends.local import LocalSearchBackend

    class HalfWorking(LocalSearchBackend):
        def index_page(self, namespace, page_id, chunks):
            super().index_page(namespace, page_id, chunks)
            raise PrimaryWriteFailed("engine down; the local copy is up to date")

    page = f.policy("Policy during an engine outage", body="Written locally first.")
    backend = HalfWorking("half", {})
    with pytest.raises(PrimaryWriteFailed):
        index_page(page.pk, backend=backend)
    assert backend.count(SITE_NAMESPACE) == (1, 2)  # the body's passage and the title-and-summary one
    state = IndexedPage.objects.get(page_id=page.pk)
    assert state.state == "failed" and "engine down" in state.last_error


def test_schedule_many_batches_work_and_keeps_it_in_the_outbox(commit):
    from search.outbox import schedule_many

    pages = [f.policy(f"Batch policy {i}", body="batched indexing words", publish=True) for i in range(5)]
    IndexOutbox.objects.all().delete()
    with commit():
        assert schedule_many([p.pk for p in pages] + [pages[0].pk], "freshness", batch=2) == 5
    assert not IndexOutbox.objects.exists()  # every batch ran and cleared its rows
    assert set(titles("batched indexing", mode="lexical")) == {p.title for p in pages}


def test_a_page_with_a_summary_gets_a_title_and_summary_passage(commit, settings):
    from search.indexing import SUMMARY_SOURCE, build_chunks

    page = f.policy("Page signals policy", body="The body says one thing.")
    records, _warnings, _embedded = build_chunks(page)
    assert [r.metadata["source"] for r in records] == ["page", SUMMARY_SOURCE]
    own = records[-1]
    assert own.text == page.summary and own.heading == "" and own.position == len(records) - 1
    settings.KM_SEARCH = {**settings.KM_SEARCH, "SUMMARY_PASSAGE": False}
    assert [r.metadata["source"] for r in build_chunks(page)[0]] == ["page"]
