"""The accessibility statement quotes the last automated audit's record, and
says plainly when there is none."""

import json

import pytest

from kmsite import accessibility


@pytest.fixture
def record(tmp_path, monkeypatch):
    path = tmp_path / "audit.json"
    monkeypatch.setattr(accessibility, "AUDIT_RECORD", path)
    monkeypatch.setattr(accessibility.last_audit, "__defaults__", (path,))
    return path


@pytest.mark.django_db
def test_statement_has_the_sections_uk_public_bodies_publish(client, record, settings):
    settings.KM_ACCESSIBILITY_CONTACT = "a11y@example.gov"
    html = client.get("/accessibility/").content.decode()
    for heading in ("How accessible this website is", "Feedback and contact information",
                    "Reporting accessibility problems with this website", "Enforcement procedure",
                    "Compliance status", "Non-accessible content", "Preparation of this accessibility statement"):
        assert f">{heading}</h" in html, heading
    assert "Equality and Human Rights Commission" in html and "Equality Commission for Northern Ireland" in html
    assert 'href="mailto:a11y@example.gov"' in html


@pytest.mark.django_db
def test_statement_quotes_the_audit_record(client, record):
    record.write_text(json.dumps({"date": "2026-11-30", "tool": "axe-core 4.14.1", "rules": ["wcag2a"],
                                  "pages": 43, "violations": 0, "failing_pages": []}))
    html = client.get("/accessibility/").content.decode()
    assert '<time datetime="2026-11-30">30 November 2026</time>' in html
    assert "axe-core 4.14.1 checked 43 pages" in html and "found no problems" in html


@pytest.mark.django_db
@pytest.mark.parametrize("content", [None, "{not json", json.dumps({"date": "yesterday", "pages": 1, "violations": 0})])
def test_statement_without_a_readable_record_claims_no_audit(client, record, content):
    if content is not None:
        record.write_text(content)
    response = client.get("/accessibility/")
    assert response.status_code == 200
    assert "No automated audit is recorded for this version" in response.content.decode()
