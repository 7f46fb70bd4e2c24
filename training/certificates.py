"""Certificates: issuing, rendering to PDF, and recertification on expiry."""

import calendar
import datetime
import unicodedata

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import ActivityProgress, Certificate, Enrolment, EnrolmentKind


def add_months(day, months):
    """``day`` plus ``months`` calendar months, clamped to the month's end
    (31 January + 1 month = 28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return day.replace(year=year, month=month, day=min(day.day, last))


def recertification_window():
    return datetime.timedelta(days=getattr(settings, "KM_TRAINING_RECERTIFY_DAYS", 60))


def issue_certificate(user, curriculum, when=None):
    when = when or timezone.now()
    expires = None
    if curriculum.certificate_validity_months:
        expires = add_months(timezone.localdate(when), curriculum.certificate_validity_months)
    return Certificate.objects.create(user=user, curriculum=curriculum, issued_at=when, expires_on=expires)


def reset_progress(user, modules):
    """Clear activity progress (not the attempt history) so a learner can redo
    modules for recertification."""
    ActivityProgress.objects.filter(user=user, activity__module__in=modules).delete()


def process_expiry(today=None):
    """Give every holder of a certificate expiring within the window a
    recertification enrolment (due on the expiry date) and a reminder.
    Idempotent: a certificate is handled once (``reminded_at``), and a
    certificate that has already been renewed is skipped."""
    from . import notify

    today = today or timezone.localdate()
    horizon = today + recertification_window()
    due = (
        Certificate.objects.filter(expires_on__isnull=False, expires_on__lte=horizon, reminded_at__isnull=True)
        .select_related("user", "curriculum")
        .order_by("expires_on")
    )
    created = []
    for cert in due:
        newer = Certificate.objects.filter(
            user=cert.user, curriculum=cert.curriculum, issued_at__gt=cert.issued_at
        ).exists()
        with transaction.atomic():
            cert.reminded_at = timezone.now()
            cert.save(update_fields=["reminded_at"])
            if newer:
                continue
            enrolment = Enrolment.objects.create(
                user=cert.user, curriculum=cert.curriculum, kind=EnrolmentKind.RECERTIFICATION,
                due_date=cert.expires_on, renews=cert,
            )
            reset_progress(cert.user, cert.curriculum.modules.all())
            created.append(enrolment)
            transaction.on_commit(lambda c=cert, e=enrolment: notify.recertification_due(c, e))
    return created


def _latin1(text):
    """The PDF core fonts cover Latin-1; transliterate anything else."""
    text = str(text)
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        decomposed = unicodedata.normalize("NFKD", text)
        return "".join(c for c in decomposed if ord(c) < 256 and not unicodedata.combining(c)) or "?"


def render_pdf(certificate):
    """A one-page A4 landscape certificate as PDF bytes."""
    from fpdf import FPDF

    user, curriculum = certificate.user, certificate.curriculum
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(_latin1(f"Certificate: {curriculum.title}"))
    pdf.set_author("GovKM")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_draw_color(11, 61, 110)
    pdf.set_line_width(1.5)
    pdf.rect(12, 12, 273, 186)
    pdf.set_text_color(11, 61, 110)
    pdf.set_font("Helvetica", "B", 14)
    pdf.set_y(30)
    pdf.cell(0, 10, "GovKM learning", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 30)
    pdf.cell(0, 18, "Certificate of completion", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(27, 31, 35)
    pdf.set_font("Helvetica", "", 14)
    pdf.ln(6)
    pdf.cell(0, 8, "This certifies that", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 24)
    pdf.cell(0, 14, _latin1(user.get_full_name() or user.get_username()), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 14)
    pdf.cell(0, 8, "has completed the curriculum", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 18)
    pdf.set_x(30)
    pdf.multi_cell(237, 10, _latin1(curriculum.title), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12)
    pdf.ln(8)
    issued = timezone.localtime(certificate.issued_at)
    pdf.cell(0, 7, f"Issued on {issued:%d %B %Y}", align="C", new_x="LMARGIN", new_y="NEXT")
    valid = f"Valid until {certificate.expires_on:%d %B %Y}" if certificate.expires_on else "Does not expire"
    pdf.cell(0, 7, valid, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.set_y(180)
    pdf.cell(0, 6, f"Certificate number {certificate.code}", align="C")
    return bytes(pdf.output())
