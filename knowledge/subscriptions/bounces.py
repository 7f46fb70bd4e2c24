"""Bounces that arrive after the message was accepted: delivery status
notifications (DSN, RFC 3464) read from a mailbox.

An SMTP server that refuses an address while we send is handled at once
(``delivery.record_failure``). Most bounces come later: the relay accepted
the message, the recipient's server refused it, and the relay mails a DSN
back to the envelope sender (``KM_NOTIFY_RETURN_PATH``, else the From
address). This module reads those reports. The rules:

* Only a ``multipart/report; report-type=delivery-status`` message counts;
  anything else (an out-of-office reply, a person writing back) is left as
  it is and named in the summary.
* The report must return the headers of one of our messages: its
  ``List-Id`` is ours. A forged or unrelated DSN suspends nobody.
* Each recipient block with ``Action: failed`` and a ``5.x.x`` status is a
  permanent failure: the address is suspended at once. ``Action: failed``
  with a ``4.x.x`` status counts one failure (suspended after
  ``KM_NOTIFY_MAX_FAILURES``). ``delayed``, ``delivered``, ``relayed`` and
  ``expanded`` change nothing.
* Only addresses of people on GovKM are recorded (a report naming someone
  else's address is ignored), so the suppression list holds no strangers.
"""

import email
import email.policy
import mailbox
import re
from dataclasses import dataclass, field
from email.utils import parseaddr

from django.contrib.auth import get_user_model
from django.db.models import Q

from .delivery import record_failure
from .mail import list_id

STATUS = re.compile(r"^\s*([245])\.\d{1,3}\.\d{1,3}")


@dataclass
class Failure:
    address: str
    permanent: bool
    status: str
    diagnostic: str = ""


@dataclass
class Summary:
    reports: int = 0
    suspended: list = field(default_factory=list)
    counted: list = field(default_factory=list)
    ignored: list = field(default_factory=list)  # (message id or subject, why)

    def as_dict(self):
        return {"reports": self.reports, "suspended": self.suspended, "counted": self.counted,
                "ignored": self.ignored}


def parse(raw):
    """The message (bytes or an ``email.message.Message``) as an EmailMessage."""
    if isinstance(raw, bytes | bytearray):
        return email.message_from_bytes(bytes(raw), policy=email.policy.default)
    if isinstance(raw, email.message.EmailMessage):
        return raw
    return email.message_from_bytes(raw.as_bytes(), policy=email.policy.default)


def _list_id_of(headers):
    """The identifier in angle brackets of a List-Id header (RFC 2919), lower-cased."""
    found = re.search(r"<([^<>]+)>", str(headers.get("List-Id", "")))
    return found.group(1).strip().lower() if found else None


def _status_part(message):
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            return part
    return None


def _returned_headers(message):
    """The headers of the message the report is about (the ``message/rfc822``
    or ``text/rfc822-headers`` part), as a Message, or None."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            return inner[0] if isinstance(inner, list) and inner else None
        if kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True) or b""
            return email.message_from_bytes(payload, policy=email.policy.default)
    return None


def _recipient_blocks(status_part):
    """The per-recipient field groups of a delivery-status part (the first
    group is per-message)."""
    payload = status_part.get_payload()
    if isinstance(payload, list):  # the email package parses each group as a Message
        return payload[1:]
    text = payload if isinstance(payload, str) else ""
    groups = [email.message_from_string(g.strip() + "\n", policy=email.policy.default)
              for g in re.split(r"\r?\n\s*\r?\n", text) if g.strip()]
    return groups[1:]


def failures_in(message):
    """(failures, why not) of a DSN: the failed recipients it reports, or an
    empty list and the reason it is not a bounce of ours."""
    if message.get_content_type() != "multipart/report":
        return [], "not a delivery report"
    if (message.get_param("report-type") or "").lower() != "delivery-status":
        return [], "a report, but not of delivery status"
    status_part = _status_part(message)
    if status_part is None:
        return [], "no delivery-status part"
    returned = _returned_headers(message)
    if returned is None or _list_id_of(returned) != _list_id_of({"List-Id": list_id()}):
        return [], "not about a message of ours"
    out = []
    for block in _recipient_blocks(status_part):
        action = str(block.get("Action", "")).strip().lower()
        status = str(block.get("Status", "")).strip()
        recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        address = parseaddr(recipient.split(";", 1)[-1].strip())[1].lower()
        found = STATUS.match(status)
        if action != "failed" or not address or found is None or found.group(1) == "2":
            continue
        out.append(Failure(address, found.group(1) == "5", status,
                           " ".join(str(block.get("Diagnostic-Code", "")).split())[:250]))
    return out, "" if out else "no failed recipient"


def process(raw, summary):
    """Apply one message's failures; returns True when it was a bounce of ours."""
    try:
        message = parse(raw)
        failures, why = failures_in(message)
    except Exception as exc:  # noqa: BLE001 - a malformed message is reported, never fatal
        summary.ignored.append(("?", f"unreadable: {exc.__class__.__name__}"))
        return False
    if not failures:
        summary.ignored.append((str(message.get("Message-ID") or message.get("Subject") or "?")[:120], why))
        return False
    summary.reports += 1
    named = Q()
    for failure in failures:
        named |= Q(email__iexact=failure.address)
    known = {a.lower() for a in get_user_model().objects.filter(named).values_list("email", flat=True)}
    for failure in failures:
        if failure.address not in known:
            summary.ignored.append((failure.address, "nobody on GovKM has this address"))
            continue
        suspended = record_failure(failure.address, permanent=failure.permanent,
                                   error=f"bounce {failure.status}: {failure.diagnostic}")
        (summary.suspended if suspended else summary.counted).append(failure.address)
    return True


def process_maildir(path, summary, keep=False):
    """Read the new messages of the Maildir at ``path``. A bounce of ours,
    once applied, is removed (``keep``: marked seen and moved to cur/
    instead); anything else is marked seen and left for a person to read."""
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in list(box.iterkeys()):
        message = box.get_message(key)
        if "S" in message.get_flags():
            continue
        if process(box.get_bytes(key), summary) and not keep:
            box.remove(key)
            continue
        message.set_subdir("cur")
        message.add_flag("S")
        box[key] = message
    return summary
