"""The admin delivery report: what was sent, failed, suppressed or withheld
per day, with a chart and a table, and the suspended addresses (which an
administrator may lift). Registered from knowledge/wagtail_hooks.py."""

import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from kmsite.charts import line_chart

from ..models import Delivery, MailSuppression

DAYS = 30
SHOWN = [("sent", "Sent"), ("failed", "Failed"), ("suppressed", "Suppressed"), ("withheld", "Withheld")]


def can_view(user):
    return user.is_active and (user.is_superuser or user.has_perm("knowledge.view_delivery_report"))


def daily_figures(days=DAYS, today=None):
    today = today or timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    rows = (Delivery.objects.filter(sent_at__date__gte=first).annotate(day=TruncDate("sent_at"))
            .values_list("day", "status").annotate(n=Count("pk")))
    counts = {(day, status): n for day, status, n in rows}
    dates = [first + datetime.timedelta(days=i) for i in range(days)]
    return dates, {status: [counts.get((d, status), 0) for d in dates] for status, _ in SHOWN}


def delivery_report_view(request):
    if not can_view(request.user):
        raise PermissionDenied
    if request.method == "POST" and request.user.is_superuser:
        MailSuppression.objects.filter(pk=request.POST.get("lift") or 0).update(suspended_at=None, failures=0)
        return redirect("knowledge_delivery_report")
    dates, series = daily_figures()
    chart = line_chart("Notification e-mails per day", [d.strftime("%d %b") for d in dates],
                       [(label, series[status]) for status, label in SHOWN], y_label="e-mails")
    table = [(d, [series[status][i] for status, _ in SHOWN]) for i, d in enumerate(dates)]
    waiting = Delivery.objects.filter(status__in=["pending", "claimed"]).values_list("status").annotate(n=Count("pk"))
    return TemplateResponse(request, "knowledge/admin/delivery_report.html", {
        "chart": chart, "table": table, "headings": [label for _, label in SHOWN],
        "waiting": dict(waiting), "suspended": MailSuppression.objects.filter(suspended_at__isnull=False)[:200],
        "totals": [sum(series[s]) for s, _ in SHOWN],
    })
