"""The learner's pages: their learning, the catalogue, modules, activities,
knowledge checks, attendance, certificates and refreshers."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from knowledge.access import user_can_view_page

from .. import learning, permissions
from ..certificates import render_pdf
from ..forms import KnowledgeCheckForm
from ..models import (
    Activity,
    ActivityKind,
    ActivityProgress,
    AttainedLevel,
    Certificate,
    CheckAttempt,
    Curriculum,
    Enrolment,
    EnrolmentKind,
    Module,
    ProgressStatus,
)
from .base import render_page

SECTIONS = [
    ("overdue", learning.Status.OVERDUE),
    ("due_soon", learning.Status.DUE_SOON),
    ("in_progress", learning.Status.IN_PROGRESS),
    ("assigned", learning.Status.ASSIGNED),
    ("completed", learning.Status.COMPLETED),
]



@login_required
@require_GET
def my_learning(request):
    enrolments = list(
        Enrolment.objects.filter(user=request.user)
        .select_related("curriculum", "module", "refresher_page")
        .order_by("due_date", "created_at")
    )
    progress = learning.enrolment_progress(request.user, enrolments)
    today = timezone.localdate()
    grouped = {key: [] for key, _ in SECTIONS}
    for e in enrolments:
        status = learning.status_of(e, today)
        grouped[status].append({"enrolment": e, "status": status, "label": learning.Status.LABELS[status],
                                "progress": progress[e.pk]})
    grouped["completed"].sort(key=lambda r: r["enrolment"].completed_at, reverse=True)
    sections = [
        {"key": key, "title": learning.Status.LABELS[key], "items": grouped[key]} for key, _ in SECTIONS
    ]
    return render_page(request, "training/my_learning.html", {
        "sections": sections,
        "counts": {key: len(items) for key, items in grouped.items()},
        "certificates": Certificate.objects.filter(user=request.user).select_related("curriculum")[:20],
        "levels": AttainedLevel.objects.filter(user=request.user).select_related("competence__framework")
        .order_by("competence__code"),
        "open_curricula": Curriculum.objects.filter(is_open=True, live=True).exclude(
            enrolments__user=request.user, enrolments__completed_at__isnull=True
        )[:5],
        "today": today,
    })


@login_required
@require_GET
def catalogue(request):
    curricula = Curriculum.objects.filter(live=True).annotate(module_count=Count("modules")).order_by("title")
    active = set(
        Enrolment.objects.filter(user=request.user, completed_at__isnull=True, curriculum__isnull=False)
        .values_list("curriculum_id", flat=True)
    )
    return render_page(request, "training/catalogue.html", {"curricula": curricula, "active": active})


@login_required
@require_POST
def enrol(request, slug):
    curriculum = get_object_or_404(Curriculum, slug=slug, live=True)
    try:
        learning.enrol_self(request.user, curriculum)
    except learning.LearningError as exc:
        messages.error(request, str(exc))
        return redirect("training:catalogue")
    messages.success(request, f"You are enrolled in {curriculum.title}.")
    return redirect("training:curriculum", slug=slug)


def _module_rows(user, modules):
    done_modules = learning.completed_module_ids(user)
    progress = {
        p.activity_id: p
        for p in ActivityProgress.objects.filter(user=user, activity__module__in=modules)
    }
    rows = []
    for m in modules:
        activities = list(m.activities.all())
        done = sum(1 for a in activities if getattr(progress.get(a.pk), "status", None) == ProgressStatus.COMPLETED)
        missing = [p for p in m.prerequisites.all() if p.pk not in done_modules]
        rows.append({"module": m, "done": done, "total": len(activities), "completed": m.pk in done_modules,
                     "locked_by": missing,
                     "percent": round(100 * done / len(activities)) if activities else 0})
    return rows


@login_required
@require_GET
def curriculum_detail(request, slug):
    curriculum = get_object_or_404(Curriculum, slug=slug, live=True)
    modules = list(curriculum.ordered_modules().prefetch_related("activities", "prerequisites", "owners"))
    enrolment = Enrolment.objects.filter(user=request.user, curriculum=curriculum).order_by("-created_at").first()
    return render_page(request, "training/curriculum_detail.html", {
        "curriculum": curriculum, "rows": _module_rows(request.user, modules), "enrolment": enrolment,
        "certificate": Certificate.objects.filter(user=request.user, curriculum=curriculum).first(),
    })


@login_required
@require_GET
def module_detail(request, slug):
    module = get_object_or_404(Module.objects.select_related("curriculum"), slug=slug)
    activities = list(module.activities.select_related("page", "trainer"))
    progress = {p.activity_id: p for p in ActivityProgress.objects.filter(user=request.user, activity__in=activities)}
    rows = [{"activity": a, "progress": progress.get(a.pk),
             "readable": a.page is None or user_can_view_page(request.user, a.page),
             "can_mark": a.kind == ActivityKind.ATTENDANCE and permissions.can_mark_attendance(request.user, a)}
            for a in activities]
    return render_page(request, "training/module_detail.html", {
        "module": module, "rows": rows,
        "missing": learning.missing_prerequisites(request.user, module),
        "completed": module.completions.filter(user=request.user).first(),
        "competences": module.competences.select_related("competence"),
        "is_owner": module.owners.filter(pk=request.user.pk).exists(),
    })


@login_required
@require_GET
def activity_open(request, pk):
    activity = get_object_or_404(Activity.objects.select_related("module", "page"), pk=pk)
    if activity.kind not in (ActivityKind.READ, ActivityKind.EXTERNAL):
        raise Http404("Nothing to open for this activity.")
    if activity.kind == ActivityKind.READ and (activity.page is None or not user_can_view_page(request.user, activity.page)):
        messages.error(request, "You cannot view the page this activity uses. Ask the module owner.")
        return redirect("training:module", slug=activity.module.slug)
    try:
        learning.open_activity(request.user, activity)
    except learning.LearningError as exc:
        messages.error(request, str(exc))
        return redirect("training:module", slug=activity.module.slug)
    target = activity.page.url if activity.kind == ActivityKind.READ else activity.url
    return HttpResponseRedirect(target)


@login_required
@require_POST
def activity_confirm(request, pk):
    activity = get_object_or_404(Activity.objects.select_related("module"), pk=pk)
    try:
        learning.confirm_activity(request.user, activity)
        messages.success(request, f"Marked “{activity.title}” as done.")
    except learning.LearningError as exc:
        messages.error(request, str(exc))
    return redirect("training:module", slug=activity.module.slug)


@login_required
def knowledge_check(request, pk):
    activity = get_object_or_404(Activity.objects.select_related("module"), pk=pk, kind=ActivityKind.CHECK)
    form = KnowledgeCheckForm(activity, request.POST if request.method == "POST" else None)
    attempt, error = None, ""
    if request.method == "POST" and form.is_valid():
        try:
            attempt = learning.submit_check(request.user, activity, form.answers())
        except learning.LearningError as exc:
            error = str(exc)
    elif request.method not in ("GET", "POST"):
        return HttpResponse(status=405)
    progress = ActivityProgress.objects.filter(user=request.user, activity=activity).first()
    review = []
    if attempt:
        for q in form.questions:
            chosen = attempt.answers.get(str(q.pk))
            review.append({"question": q, "choices": q.parsed_choices(), "chosen": chosen,
                           "right": chosen == q.correct_index})
    return render_page(request, "training/knowledge_check.html", {
        "activity": activity, "form": form, "attempt": attempt, "error": error, "progress": progress,
        "attempts_left": learning.attempts_left(request.user, activity), "review": review,
        "history": CheckAttempt.objects.filter(user=request.user, activity=activity),
        "missing": learning.missing_prerequisites(request.user, activity.module),
    }, status=400 if (error or (request.method == "POST" and not form.is_valid())) else 200)


@login_required
def attendance(request, pk):
    activity = get_object_or_404(Activity.objects.select_related("module"), pk=pk, kind=ActivityKind.ATTENDANCE)
    if not permissions.can_mark_attendance(request.user, activity):
        raise PermissionDenied
    module = activity.module
    User = get_user_model()
    learners = User.objects.filter(
        Q(training_enrolments__module=module) | Q(training_enrolments__curriculum_id=module.curriculum_id,
                                                  training_enrolments__curriculum__isnull=False),
        is_active=True,
    ).distinct().order_by("last_name", "username")
    if request.method == "POST":
        ids = [int(v) for v in request.POST.getlist("present") if v.isdigit()]
        chosen = learners.filter(pk__in=ids)
        if len(set(ids)) != chosen.count():
            messages.error(request, "Some of the people marked are not enrolled in this module; nothing was saved.")
        else:
            n = learning.mark_attendance(request.user, activity, list(chosen))
            messages.success(request, f"Attendance recorded for {n} learner(s).")
            return redirect("training:attendance", pk=pk)
    done = {p.user_id: p for p in ActivityProgress.objects.filter(activity=activity, status=ProgressStatus.COMPLETED)}
    return render_page(request, "training/attendance.html", {
        "activity": activity, "rows": [{"user": u, "progress": done.get(u.pk)} for u in learners],
    })


def _certificate_for(request, code):
    cert = get_object_or_404(Certificate.objects.select_related("user", "curriculum"), code=code)
    if not permissions.can_view_learner(request.user, cert.user):
        raise Http404
    return cert


@login_required
@require_GET
def certificate(request, code):
    cert = _certificate_for(request, code)
    return render_page(request, "training/certificate.html", {"certificate": cert, "valid": cert.is_valid()})


@login_required
@require_GET
def certificate_pdf(request, code):
    cert = _certificate_for(request, code)
    response = HttpResponse(render_pdf(cert), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="certificate-{cert.curriculum.slug}.pdf"'
    return response


def _own_refresher(request, pk):
    return get_object_or_404(
        Enrolment.objects.select_related("module", "refresher_page"), pk=pk, user=request.user,
        kind=EnrolmentKind.REFRESHER,
    )


@login_required
@require_GET
def refresher(request, pk):
    return render_page(request, "training/refresher.html", {"enrolment": _own_refresher(request, pk)})


@login_required
@require_GET
def refresher_open(request, pk):
    enrolment = _own_refresher(request, pk)
    page = enrolment.refresher_page
    if page is None or not user_can_view_page(request.user, page):
        messages.error(request, "The changed page is no longer available to you.")
        return redirect("training:refresher", pk=pk)
    learning.open_refresher(request.user, enrolment)
    return HttpResponseRedirect(page.url)


@login_required
@require_POST
def refresher_confirm(request, pk):
    enrolment = _own_refresher(request, pk)
    try:
        learning.confirm_refresher(request.user, enrolment)
        messages.success(request, "Refresher completed.")
        return redirect("training:my_learning")
    except learning.LearningError as exc:
        messages.error(request, str(exc))
        return redirect("training:refresher", pk=pk)
