"""Rate limits, CSRF, upload limits, deploy checks."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests import factories as f

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def test_search_api_rate_limit_answers_429_with_retry_after(client, settings):
    settings.KM_RATE_LIMITS = {"SEARCH_PER_MINUTE": 3}
    codes = [client.get("/api/search/", {"q": "leave"}).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    response = client.get("/api/search/", {"q": "leave"})
    assert int(response["Retry-After"]) > 0
    assert "Too many searches" in response.json()["error"]["message"]
    # another user has a budget of their own
    other = Client()
    other.force_login(f.user("rl-other", "civil_servant"))
    assert other.get("/api/search/", {"q": "leave"}).status_code == 200


def test_search_page_and_api_share_one_budget(client, settings, monkeypatch):
    monkeypatch.setattr("kmsite.clock.now", lambda: 6_000_000.0)  # one minute throughout
    settings.KM_RATE_LIMITS = {"SEARCH_PER_MINUTE": 3}
    assert client.get("/search/").status_code == 200  # the empty form costs nothing
    assert client.get("/search/", {"q": "leave"}).status_code == 200
    assert client.get("/api/search/", {"q": "leave"}).status_code == 200
    assert client.get("/search/", {"q": "travel"}).status_code == 200
    page = client.get("/search/", {"q": "leave"})
    assert page.status_code == 429 and page["Retry-After"] == "60"
    assert "Too many searches: at most 3 a minute" in page.content.decode()
    assert page["Content-Type"].startswith("text/html")
    assert client.get("/api/search/", {"q": "leave"}).status_code == 429
    monkeypatch.setattr("kmsite.clock.now", lambda: 6_000_060.0)  # the next minute
    assert client.get("/search/", {"q": "leave"}).status_code == 200


def test_csrf_is_enforced_on_admin_and_forms():
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/admin/login/", {"username": "a", "password": "b"}).status_code == 403
    strict.force_login(f.user("csrf-owner", "content_owner"))
    page = f.policy("CSRF target")
    assert strict.post(f"/admin/pages/{page.pk}/unpublish/").status_code == 403
    page.refresh_from_db()
    assert page.live


def test_document_upload_limit(client, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.WAGTAILDOCS_MAX_UPLOAD_SIZE = 1024
    client.force_login(f.user("upl", "content_owner"))
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.4" + b"x" * 4096, content_type="application/pdf")
    response = client.post("/admin/documents/add/", {"title": "Too big", "file": big, "collection": 1})
    from wagtail.documents.models import Document

    assert not Document.objects.filter(title="Too big").exists()
    assert response.status_code == 200  # the form comes back with the error
    exe = SimpleUploadedFile("tool.exe", b"MZ" * 10, content_type="application/octet-stream")
    client.post("/admin/documents/add/", {"title": "Program", "file": exe, "collection": 1})
    assert not Document.objects.filter(title="Program").exists()


@pytest.mark.slow
def test_deploy_check_is_clean_with_production_settings():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kmsite.settings.production",
           "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "govkm.example.gov"}
    env.pop("DATABASE_URL", None)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
