"""The accessibility statement (/accessibility/), in the form UK public bodies
publish under the Public Sector Bodies Accessibility Regulations 2018.

The date and result of the last automated audit come from
``kmsite/accessibility_audit.json``, which the audit itself writes
(tests/e2e/test_accessibility.py) after a run that reached every page it
audits. The record lives in the package, beside the templates it describes, so
a release carries the audit of its own code: commit it with the change that
ran it. A missing or unreadable record makes the statement say that no audit
is recorded, never an invented date."""

import datetime
import json
from pathlib import Path

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

AUDIT_RECORD = Path(__file__).resolve().with_name("accessibility_audit.json")


def last_audit(path=AUDIT_RECORD):
    """The last audit record as a dict with ``date`` a ``datetime.date``, or None."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        data["date"] = datetime.date.fromisoformat(data["date"])
        data["pages"] = int(data["pages"])
        data["violations"] = int(data["violations"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data


@require_GET
def statement(request):
    return render(request, "kmsite/accessibility_statement.html", {
        "audit": last_audit(),
        "contact": settings.KM_ACCESSIBILITY_CONTACT,
        "site_url": request.build_absolute_uri("/"),
    })
