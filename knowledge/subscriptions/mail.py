"""The e-mails: one per person per run, listing each change they may see.

Each change is rendered once per run (plain text and HTML, escaped) and
each distinct list of changes once per run; what differs from one person
to the next is only their unsubscribe link, put in by replacing a marker.
That is what makes a 100,000-person digest cost a signature and a MIME
serialisation per person rather than two template renders
(bench/notifications.py; the figures are in README.md).

Unsubscribe links carry a signed token (django.core.signing, salted):
changing the user id breaks the signature, so nobody can unsubscribe
someone else. The headers follow RFC 8058 (one-click unsubscribe).
"""

import hashlib

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from ..models import GuidanceChange
from ..notify import absolute
from .changes import reader_note

UNSUBSCRIBE_SALT = "knowledge.subscriptions.unsubscribe"
MARKER = "KM-UNSUBSCRIBE-MARKER"
ADDRESS_MARKER = "km-address-marker@invalid"
ID_MARKER = "km-message-id-marker"
LABELS = {
    GuidanceChange.Kind.MATERIAL: "Changed",
    GuidanceChange.Kind.NEW: "New",
    GuidanceChange.Kind.SUPERSEDED: "Superseded",
    GuidanceChange.Kind.RESCINDED: "Rescinded",
    GuidanceChange.Kind.UNPUBLISHED: "Withdrawn",
    GuidanceChange.Kind.AFFECTED: "May be affected",
}


def _signer():
    return signing.Signer(salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user_id):
    return _signer().sign(str(user_id))


def user_from_token(token):
    """The user id a token was made for, or None if it is not genuine."""
    try:
        return int(_signer().unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def unsubscribe_url(user_id):
    return absolute(reverse("km_unsubscribe", args=[unsubscribe_token(user_id)]))


class ChangeFragment:
    """One change as every recipient who may see it reads it."""

    def __init__(self, change, page_url, successor=None, successor_url=""):
        context = {
            "change": change, "note": change.note, "label": LABELS.get(change.kind, "Changed"), "page_url": page_url,
            "changes_url": absolute(reverse("km_what_changed", args=[change.pk])),
            "successor": successor, "successor_url": successor_url,
        }
        self.change_id, self.kind, self.title = change.pk, change.kind, change.title
        self.page_id, self.successor_id = change.page_id, getattr(successor, "pk", None)
        self.text = render_to_string("knowledge/email/change.txt", context).strip()
        self.html = render_to_string("knowledge/email/change.html", context).strip()
        # the same change without what the reader may not see: the successor,
        # or the changed page a "may be affected" note names
        if successor is not None or change.kind == GuidanceChange.Kind.AFFECTED:
            context["successor"] = None
            context["note"] = reader_note(change, may_see_cause=False)
            self.text_alone = render_to_string("knowledge/email/change.txt", context).strip()
            self.html_alone = render_to_string("knowledge/email/change.html", context).strip()


class Composer:
    """Builds the messages of one run; remembers the rendered bodies."""

    def __init__(self, frequency):
        self.frequency = frequency
        self.site_name = getattr(settings, "WAGTAIL_SITE_NAME", "GovKM")
        self.manage_url = absolute(reverse("km_subscriptions"))
        self._bodies, self._raw = {}, {}
        self.from_email = settings.DEFAULT_FROM_EMAIL
        # the unsubscribe address with a placeholder, reversed once per run (reverse()
        # and absolute() per message were ~0.1 ms of a message's CPU); a token is
        # "<id>:<base64url>", which the URL keeps as it is, checked on the first use
        self._unsubscribe = unsubscribe_url(0).replace(unsubscribe_token(0), "{}")
        self._checked = False

    def unsubscribe_url(self, user_id):
        url = self._unsubscribe.format(unsubscribe_token(user_id))
        if not self._checked:
            if url != unsubscribe_url(user_id):
                self._unsubscribe = None
            self._checked = True
        return url if self._unsubscribe is not None else unsubscribe_url(user_id)

    def _subject(self, fragments):
        if len(fragments) == 1:
            f = fragments[0]
            return f"{LABELS.get(f.kind, 'Changed')}: {f.title}"
        period = {"daily": "Daily", "weekly": "Weekly"}.get(self.frequency, "")
        return f"{period + ' digest: ' if period else ''}{len(fragments)} changes to guidance you follow".strip()

    @staticmethod
    def _key(fragments, hide_successor):
        return tuple((f.change_id, f.change_id in hide_successor) for f in fragments)

    def _bodies_for(self, fragments, hide_successor):
        key = self._key(fragments, hide_successor)
        cached = self._bodies.get(key)
        if cached is None:
            texts = [f.text_alone if f.change_id in hide_successor else f.text for f in fragments]
            htmls = [f.html_alone if f.change_id in hide_successor else f.html for f in fragments]
            subject = self._subject(fragments)
            intro = ("A page you follow has changed." if len(fragments) == 1
                     else f"{len(fragments)} pages you follow have changed.")
            context = {"subject": subject, "intro": intro, "site_name": self.site_name,
                       "manage_url": self.manage_url, "unsubscribe_url": MARKER}
            text = render_to_string("knowledge/email/message.txt", {**context, "body": "\n\n".join(texts)})
            html = render_to_string("knowledge/email/message.html", {**context, "body": mark_safe("\n".join(htmls))})  # noqa: S308 - fragments are rendered templates, escaped
            cached = self._bodies[key] = (subject, text, html)
        return cached

    def message(self, user_id, address, fragments, hide_successor=frozenset()):
        """An ``EmailMultiAlternatives`` (for any mail backend)."""
        subject, text, html = self._bodies_for(fragments, hide_successor)
        message = self._build(subject, text, html, address, self.unsubscribe_url(user_id))
        message.extra_headers["Message-ID"] = f"<{message_token(user_id, fragments)}@{_host()}>"
        return message

    def raw(self, user_id, address, fragments, hide_successor=frozenset()):
        """The same message as bytes for SMTP: serialised once per distinct
        list of changes, with the address, the unsubscribe link and the
        Message-ID put in by replacing markers. Serialising a 20-change
        MIME message per reader cost ~2 ms of CPU each (bench/notifications.py);
        replacing is ~20 us. The parts are 8bit (lines stay under 998 bytes),
        so the replacement cannot cut an encoded line."""
        key = self._key(fragments, hide_successor)
        template = self._raw.get(key)
        if template is None:
            subject, text, html = self._bodies_for(fragments, hide_successor)
            message = self._build(subject, text, html, ADDRESS_MARKER, MARKER)
            message.extra_headers["Message-ID"] = f"<{ID_MARKER}@{_host()}>"
            template = message.message().as_bytes(linesep="\r\n")
            if template.count(MARKER.encode()) != 3:  # an encoded part: the markers may be cut; serialise each
                template = False
            self._raw[key] = template
        if template is False:
            return self.message(user_id, address, fragments, hide_successor)
        return (template.replace(MARKER.encode(), self.unsubscribe_url(user_id).encode())
                .replace(ADDRESS_MARKER.encode(), address.encode())
                .replace(ID_MARKER.encode(), message_token(user_id, fragments).encode()))

    def _build(self, subject, text, html, address, link):
        message = EmailMultiAlternatives(
            subject, text.replace(MARKER, link), self.from_email, [address],
            headers={
                "List-Unsubscribe": f"<{link}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "List-Id": list_id(),
                "Auto-Submitted": "auto-generated",
                "Precedence": "bulk",
            },
        )
        message.attach_alternative(html.replace(MARKER, link), "text/html")
        return message


def list_id():
    """The List-Id of every notification (RFC 2919): bounces are matched to it."""
    site_name = getattr(settings, "WAGTAIL_SITE_NAME", "GovKM")
    return f"{site_name} guidance updates <updates.{_host()}>"


def _host():
    from urllib.parse import urlsplit

    return urlsplit(absolute("/")).hostname or "localhost"


def message_token(user_id, fragments):
    """The local part of a message's Message-ID: the same for the same
    reader and the same changes. One delivery per change and person means
    no two different messages share it; a message sent again after a sender
    was killed between the server's acceptance and its mark (the one window
    no sender can close) carries the same Message-ID, by which mail systems
    and clients recognise the copy (RFC 5322 section 3.6.4)."""
    changes = ",".join(str(change_id) for change_id in sorted(f.change_id for f in fragments))
    return hashlib.sha256(f"{user_id}|{changes}".encode()).hexdigest()[:32]
